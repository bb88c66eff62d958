package com.panops.crypto.fleet;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/** The coordination tables and every statement the coordinator runs on them. */
final class FleetSql {
  static final String CHANNEL = "panops_fleet";

  /** The advisory lock that serialises publishers ("panops"). */
  static final long PUBLISH_LOCK = 0x70616e6f7073L;

  static final String UPSERT_MEMBER =
      "insert into panops_fleet_member"
          + " (member_id, seq, written_at_ms, attest, mac, interest, interest_version,"
          + " updated_at) values (?, ?, ?, ?, ?, ?, ?, now())"
          + " on conflict (member_id) do update set seq = excluded.seq,"
          + " written_at_ms = excluded.written_at_ms, attest = excluded.attest,"
          + " mac = excluded.mac, updated_at = now(),"
          + " interest = case when ? then excluded.interest"
          + " else panops_fleet_member.interest end,"
          + " interest_version = case when ? then excluded.interest_version"
          + " else panops_fleet_member.interest_version end";

  static final String DELETE_MEMBER = "delete from panops_fleet_member where member_id = ?";

  static final String SELECT_MEMBERS =
      "select member_id, seq, written_at_ms, attest, mac, interest_version,"
          + " (extract(epoch from (now() - updated_at)) * 1000)::bigint"
          + " from panops_fleet_member";

  static final String SELECT_INTERESTS =
      "select member_id, interest, interest_version from panops_fleet_member"
          + " where member_id = any(?)";

  static final String LOCK_PUBLISHERS = "select pg_advisory_xact_lock(" + PUBLISH_LOCK + ")";

  static final String INSERT_EVENT =
      "insert into panops_fleet_event"
          + " (member_id, kind, key_arn, reason, error_code, basis, written_at_ms, mac)"
          + " values (?, ?, ?, ?, ?, ?, ?, ?) returning seq";

  static final String NOTIFY = "select pg_notify(?, ?)";

  static final String LISTEN = "listen " + CHANNEL;

  static final String SELECT_EVENTS_AFTER =
      "select seq, member_id, kind, key_arn, reason, error_code, basis, written_at_ms, mac"
          + " from panops_fleet_event where seq > ? order by seq limit 1000";

  static final String MAX_EVENT_SEQ = "select coalesce(max(seq), 0) from panops_fleet_event";

  private FleetSql() {}

  /** Creates the coordination tables if they do not exist. Idempotent, also when racing. */
  static void ensureSchema(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(
          "create table if not exists panops_fleet_member ("
              + " member_id text primary key,"
              + " seq bigint not null,"
              + " written_at_ms bigint not null,"
              + " attest text not null,"
              + " mac bytea not null,"
              + " interest text[] not null,"
              + " interest_version bigint not null,"
              + " updated_at timestamptz not null default now())");
      s.execute(
          "create table if not exists panops_fleet_event ("
              + " seq bigserial primary key,"
              + " member_id text not null,"
              + " kind text not null,"
              + " key_arn text not null,"
              + " reason text not null,"
              + " error_code text,"
              + " basis bigint not null,"
              + " written_at_ms bigint not null,"
              + " mac bytea not null,"
              + " created_at timestamptz not null default now())");
    } catch (SQLException e) {
      // Two workers creating the tables at once: one loses with a duplicate; the tables exist.
      if (!"23505".equals(e.getSQLState()) && !"42P07".equals(e.getSQLState())) {
        throw e;
      }
    }
  }
}
