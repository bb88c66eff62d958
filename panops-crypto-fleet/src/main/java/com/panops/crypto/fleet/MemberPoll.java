package com.panops.crypto.fleet;

import com.panops.crypto.ProbeCoordinator.Fleet;
import com.panops.crypto.fleet.Rendezvous.MemberView;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Reads the member rows: who is alive, what each uses (re-read only when its version changed), and
 * which keys each attests alive; then reassigns this worker's keys and counts the others'
 * attestations as proof of life. Worker thread only.
 */
final class MemberPoll {
  /** A live member's row as read: its age in milliseconds and its attestation. */
  private record LiveRow(long ageMs, String attestation) {}

  private final FleetMember member;
  private final FleetTiming timing;
  private final Map<String, MemberView> members = new HashMap<>();
  private final Rendezvous rendezvous;

  MemberPoll(FleetMember member, FleetTiming timing) {
    this.member = member;
    this.timing = timing;
    this.rendezvous = new Rendezvous(member);
  }

  void poll(Connection c) throws SQLException {
    Map<String, LiveRow> live = new HashMap<>();
    Set<String> stale = new HashSet<>();
    readLiveMembers(c, member.wallClock.millis(), live, stale);
    if (!stale.isEmpty()) {
      rereadInterests(c, stale);
    }
    members.keySet().retainAll(live.keySet());
    rendezvous.reassign(members, live.keySet());
    Fleet f = member.fleet;
    if (f == null || member.closed || !member.listening()) {
      return; // attestations count only while revocations are heard
    }
    for (LiveRow row : live.values()) {
      countAttestation(f, row);
    }
  }

  /**
   * Fills {@code live} with the other members' authenticated rows younger than the member TTL, and
   * {@code stale} with those whose interest changed since it was last read.
   */
  private void readLiveMembers(
      Connection c, long wallNow, Map<String, LiveRow> live, Set<String> stale)
      throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(FleetSql.SELECT_MEMBERS)) {
      while (rs.next()) {
        String id = rs.getString(1);
        long seq = rs.getLong(2);
        long written = rs.getLong(3);
        String text = rs.getString(4);
        byte[] mac = rs.getBytes(5);
        long version = rs.getLong(6);
        long dbAge = rs.getLong(7);
        if (id.equals(member.id)) {
          continue;
        }
        if (!member.mac.verifies(
            mac, "member", id, Long.toString(seq), Long.toString(written), text)) {
          continue; // not written by a worker holding the key: not a member
        }
        // The older of the database's and the writer's clock: a row whose timestamp column was
        // refreshed by someone else still shows its authenticated age.
        long age = Math.max(0, Math.max(dbAge, wallNow - written));
        if (age >= timing.memberTtlMs()) {
          continue;
        }
        live.put(id, new LiveRow(age, text));
        MemberView v = members.computeIfAbsent(id, k -> new MemberView());
        if (v.interestVersion != version) {
          stale.add(id);
        }
      }
    }
  }

  private void rereadInterests(Connection c, Set<String> stale) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(FleetSql.SELECT_INTERESTS)) {
      ps.setArray(1, c.createArrayOf("text", stale.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          MemberView v = members.computeIfAbsent(rs.getString(1), k -> new MemberView());
          String[] keys = (String[]) rs.getArray(2).getArray();
          v.interest = Set.of(keys);
          v.interestVersion = rs.getLong(3);
        }
      }
    }
  }

  /** Each well-formed line of a key this worker uses is a proof: as old as the row plus its age. */
  private void countAttestation(Fleet f, LiveRow row) {
    for (String line : row.attestation().split("\n")) {
      int tab = line.indexOf('\t');
      if (tab <= 0) {
        continue;
      }
      String arn = line.substring(0, tab);
      if (!member.own.uses(arn)) {
        continue;
      }
      long ageMs;
      try {
        ageMs = Long.parseLong(line.substring(tab + 1));
      } catch (NumberFormatException e) {
        continue;
      }
      if (ageMs < 0) {
        continue;
      }
      f.provenAlive(arn, Duration.ofMillis(row.ageMs() + ageMs));
    }
  }
}
