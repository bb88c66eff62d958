package com.panops.crypto.benchmarks;

import com.panops.crypto.AuditSink;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.jdbc.EncryptedColumn;
import com.panops.crypto.jdbc.PostgresDataKeyRegistry;
import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import com.panops.crypto.jdbc.ValueFormat;
import com.panops.crypto.testkit.postgres.TlsPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The JDBC adapter ({@link EncryptedColumn}, two encrypted {@code bytea} columns) beside plaintext
 * JDBC ({@code text} columns) on the same embedded PostgreSQL 16 over the same TLS connection
 * ({@code sslmode=verify-full}): one operation is a batch insert of 1,000 rows in one transaction,
 * or a select of 1,000 rows reading (and decrypting) both columns. PostgreSQL is started per fork.
 * {@code compactInsert}/{@code compactSelect} are the same with compact values (format version 2,
 * data keys in a {@link PostgresDataKeyRegistry} on the same database) instead of version 1.
 *
 * <pre>{@code
 * java -jar benchmarks/target/benchmarks.jar JdbcBenchmark -f 1 -wi 3 -w 1s -i 3 -r 2s \
 *     -jvmArgsAppend "-Xms2g -Xmx2g -XX:+AlwaysPreTouch" -rf json -rff jdbc.json
 * }</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Benchmark)
public class JdbcBenchmark {
  /** Rows per operation. */
  public static final int ROWS = 1000;

  private TlsPostgres postgres;
  private Connection connection;
  private Fixtures.Kms kms;
  private PanopsCrypto panops;
  private EncryptedColumn sender;
  private EncryptedColumn text;
  private AuxLog.KmsCalls calls;
  private long next;
  private long ops;
  private PanopsCrypto compactPanops;
  private EncryptedColumn[] compactWrite;
  private EncryptedColumn[] compactRead;

  @Setup(Level.Trial)
  public void setUp() throws SQLException {
    postgres = TlsPostgres.start();
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(postgres.jdbcUrl("postgres"));
    ds.setUser(postgres.user());
    connection = ds.getConnection();
    try (Statement s = connection.createStatement()) {
      s.execute("CREATE TABLE plain_msg (id text PRIMARY KEY, sender text, text text)");
      s.execute("CREATE TABLE enc_msg (id text PRIMARY KEY, sender bytea, text bytea)");
      s.execute("CREATE TABLE plain_read (id text PRIMARY KEY, sender text, text text)");
      s.execute("CREATE TABLE enc_read (id text PRIMARY KEY, sender bytea, text bytea)");
    }
    kms = Fixtures.kms(0);
    panops = Fixtures.panops(kms, null);
    sender =
        EncryptedColumn.builder(panops.tenant(Fixtures.TENANT))
            .table("enc_msg")
            .column("sender")
            .build();
    text =
        EncryptedColumn.builder(panops.tenant(Fixtures.TENANT))
            .table("enc_msg")
            .column("text")
            .build();
    connection.setAutoCommit(false);
    insertPlain("plain_read", "r");
    insertEncrypted("enc_read", "r");
    PostgresDataKeyRegistry registry =
        PostgresDataKeyRegistry.on(TlsEnforcingDataSource.requireVerifyFull(ds));
    registry.createTableIfMissing();
    compactPanops =
        PanopsCrypto.builder()
            .kmsClient(kms.client())
            .allowInsecureLocalKmsEndpoint() // an in-process fake: no HTTP to check
            .tenantDirectory(TenantDirectory.of(Map.of(Fixtures.TENANT, TenantKeys.of(kms.arn()))))
            .probeSettings(ProbeSettings.off())
            .auditSink(AuditSink.none())
            .dataKeyRegistry(registry)
            .build();
    try (Statement s = connection.createStatement()) {
      s.execute("CREATE TABLE cmp_msg (id text PRIMARY KEY, sender bytea, text bytea)");
      s.execute("CREATE TABLE cmp_read (id text PRIMARY KEY, sender bytea, text bytea)");
    }
    connection.commit();
    compactWrite = compactColumns("cmp_msg");
    compactRead = compactColumns("cmp_read");
    insertWith(compactRead, "cmp_read", "r");
    calls = new AuxLog.KmsCalls(kms.client());
  }

  private EncryptedColumn[] compactColumns(String table) {
    EncryptedColumn[] c = new EncryptedColumn[2];
    c[0] =
        EncryptedColumn.builder(compactPanops.tenant(Fixtures.TENANT))
            .table(table)
            .column("sender")
            .build();
    c[1] =
        EncryptedColumn.builder(compactPanops.tenant(Fixtures.TENANT))
            .table(table)
            .column("text")
            .build();
    if (c[0].valueFormat() != ValueFormat.COMPACT) {
      throw new IllegalStateException("compact columns expected");
    }
    return c;
  }

  private int insertWith(EncryptedColumn[] cols, String table, String prefix) throws SQLException {
    try (PreparedStatement ps =
        connection.prepareStatement(
            "INSERT INTO " + table + " (id, sender, text) VALUES (?, ?, ?)")) {
      for (int i = 0; i < ROWS; i++) {
        long n = next++;
        String id = prefix + n;
        ps.setString(1, id);
        cols[0].bind(ps, 2, senderOf(n), id);
        cols[1].bind(ps, 3, textOf(n), id);
        ps.addBatch();
      }
      int[] r = ps.executeBatch();
      connection.commit();
      return r.length;
    }
  }

  @Setup(Level.Iteration)
  public void beginIteration() throws SQLException {
    try (Statement s = connection.createStatement()) {
      s.execute("TRUNCATE plain_msg, enc_msg, cmp_msg");
    }
    connection.commit();
    calls.mark();
  }

  @TearDown(Level.Iteration)
  public void endIteration() {
    calls.accumulate();
  }

  @TearDown(Level.Trial)
  public void tearDown(BenchmarkParams params) throws SQLException {
    AuxLog.write(params, ops, calls, null);
    connection.close();
    panops.close();
    compactPanops.close();
    postgres.close();
  }

  private static String senderOf(long i) {
    return "user" + (i % 100) + "@example.com";
  }

  private static String textOf(long i) {
    return "Message number " + i + ": the quarterly numbers are attached, please review them.";
  }

  private int insertPlain(String table, String prefix) throws SQLException {
    try (PreparedStatement ps =
        connection.prepareStatement(
            "INSERT INTO " + table + " (id, sender, text) VALUES (?, ?, ?)")) {
      for (int i = 0; i < ROWS; i++) {
        long n = next++;
        ps.setString(1, prefix + n);
        ps.setString(2, senderOf(n));
        ps.setString(3, textOf(n));
        ps.addBatch();
      }
      int[] r = ps.executeBatch();
      connection.commit();
      return r.length;
    }
  }

  private int insertEncrypted(String table, String prefix) throws SQLException {
    EncryptedColumn s = table.equals("enc_msg") ? sender : tableColumn(table, "sender");
    EncryptedColumn t = table.equals("enc_msg") ? text : tableColumn(table, "text");
    try (PreparedStatement ps =
        connection.prepareStatement(
            "INSERT INTO " + table + " (id, sender, text) VALUES (?, ?, ?)")) {
      for (int i = 0; i < ROWS; i++) {
        long n = next++;
        String id = prefix + n;
        ps.setString(1, id);
        s.bind(ps, 2, senderOf(n), id);
        t.bind(ps, 3, textOf(n), id);
        ps.addBatch();
      }
      int[] r = ps.executeBatch();
      connection.commit();
      return r.length;
    }
  }

  private EncryptedColumn readSender;
  private EncryptedColumn readText;

  private EncryptedColumn tableColumn(String table, String column) {
    if (readSender == null) {
      readSender =
          EncryptedColumn.builder(panops.tenant(Fixtures.TENANT))
              .table(table)
              .column("sender")
              .build();
      readText =
          EncryptedColumn.builder(panops.tenant(Fixtures.TENANT))
              .table(table)
              .column("text")
              .build();
    }
    return column.equals("sender") ? readSender : readText;
  }

  @Benchmark
  public int plainInsert() throws SQLException {
    ops++;
    return insertPlain("plain_msg", "p");
  }

  @Benchmark
  public int encryptedInsert() throws SQLException {
    ops++;
    return insertEncrypted("enc_msg", "e");
  }

  @Benchmark
  public long plainSelect() throws SQLException {
    ops++;
    long n = 0;
    try (PreparedStatement ps =
            connection.prepareStatement("SELECT id, sender, text FROM plain_read");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        n += rs.getString(1).length();
        n += rs.getString(2).length();
        n += rs.getString(3).length();
      }
    }
    connection.commit();
    return n;
  }

  @Benchmark
  public long encryptedSelect() throws SQLException {
    ops++;
    long n = 0;
    EncryptedColumn s = tableColumn("enc_read", "sender");
    EncryptedColumn t = tableColumn("enc_read", "text");
    try (PreparedStatement ps =
            connection.prepareStatement("SELECT id, sender, text FROM enc_read");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        String id = rs.getString(1);
        n += id.length();
        n += s.getString(rs, 2, id).length();
        n += t.getString(rs, 3, id).length();
      }
    }
    connection.commit();
    return n;
  }

  @Benchmark
  public int compactInsert() throws SQLException {
    ops++;
    return insertWith(compactWrite, "cmp_msg", "c");
  }

  @Benchmark
  public long compactSelect() throws SQLException {
    ops++;
    long n = 0;
    try (PreparedStatement ps =
            connection.prepareStatement("SELECT id, sender, text FROM cmp_read");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        String id = rs.getString(1);
        n += id.length();
        n += compactRead[0].getString(rs, 2, id).length();
        n += compactRead[1].getString(rs, 3, id).length();
      }
    }
    connection.commit();
    return n;
  }
}
