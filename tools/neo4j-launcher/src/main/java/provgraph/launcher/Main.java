package provgraph.launcher;

import java.io.IOException;
import java.net.BindException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.SettingValueParsers;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.Result;
import org.neo4j.graphdb.Transaction;
import org.neo4j.kernel.internal.Version;
import org.neo4j.logging.Level;
import org.neo4j.logging.log4j.Log4jLogProvider;

/**
 * Runs an embedded Neo4j (community) DBMS with the Bolt connector enabled, for provgraph's local
 * development and tests. Started and stopped by {@code scripts/neo4j.sh}.
 *
 * <p>Usage: {@code java -cp 'LIB/*' provgraph.launcher.Main [HOME_DIR]}
 *
 * <p>Environment:
 *
 * <ul>
 *   <li>{@code NEO4J_HOME_DIR} – DBMS home (data, logs); the first argument wins (default {@code .data/neo4j})
 *   <li>{@code NEO4J_BOLT_ADDR} – Bolt listen address host:port (default {@code 127.0.0.1:7687})
 *   <li>{@code NEO4J_PASSWORD} – password set for user {@code neo4j} on every start (default
 *       {@code provgraph-local}, at least 8 characters)
 *   <li>{@code NEO4J_PAGECACHE} – page cache size, e.g. {@code 512m}, {@code 4g} (default {@code 4g})
 * </ul>
 *
 * <p>Once the DBMS is up and the password is set it prints a line starting with {@code READY} and
 * writes {@code HOME/run/launcher.ready} containing its pid (removed on shutdown). It exits with
 * status 1 and an {@code ERROR} line on startup failure, and with status 2 on bad configuration.
 */
public final class Main {

    static final String USER = "neo4j";
    static final String DEFAULT_BOLT_ADDR = "127.0.0.1:7687";
    static final String DEFAULT_PASSWORD = "provgraph-local";
    static final String DEFAULT_PAGECACHE = "4g";
    static final int MIN_PASSWORD_LENGTH = 8;
    static final String PREFIX = "[provgraph-neo4j] ";

    /** Set once shutdown has begun (shutdown hook or failed startup). */
    static final AtomicBoolean STOPPING = new AtomicBoolean(false);

    private Main() {}

    public static void main(String[] args) {
        Instant started = Instant.now();
        long pid = ProcessHandle.current().pid();

        // ---- configuration --------------------------------------------------------------
        Path home = Path.of(args.length > 0 ? args[0] : env("NEO4J_HOME_DIR", ".data/neo4j"))
                .toAbsolutePath()
                .normalize();
        String boltAddrRaw = env("NEO4J_BOLT_ADDR", DEFAULT_BOLT_ADDR);
        String password = env("NEO4J_PASSWORD", DEFAULT_PASSWORD);
        String pageCacheRaw = env("NEO4J_PAGECACHE", DEFAULT_PAGECACHE);

        SocketAddress boltAddr;
        long pageCacheBytes;
        try {
            boltAddr = SettingValueParsers.SOCKET_ADDRESS.parse(boltAddrRaw);
            if (boltAddr.getHostname() == null || boltAddr.getHostname().isEmpty() || boltAddr.getPort() <= 0) {
                throw new IllegalArgumentException("expected host:port");
            }
        } catch (RuntimeException e) {
            configError("NEO4J_BOLT_ADDR='" + boltAddrRaw + "' is not a valid host:port (" + e.getMessage() + ")");
            return;
        }
        try {
            pageCacheBytes = SettingValueParsers.BYTES.parse(pageCacheRaw);
        } catch (RuntimeException e) {
            configError("NEO4J_PAGECACHE='" + pageCacheRaw + "' is not a valid size such as 512m or 4g (" + e.getMessage() + ")");
            return;
        }
        if (password.length() < MIN_PASSWORD_LENGTH) {
            configError("NEO4J_PASSWORD must be at least " + MIN_PASSWORD_LENGTH + " characters long (Neo4j's minimum)");
            return;
        }

        Path readyFile = home.resolve("run").resolve("launcher.ready");
        try {
            // The ready file is only touched once we hold the store lock (after build() below):
            // a second launcher on the same home must not remove the running one's marker.
            Files.createDirectories(home);
        } catch (IOException e) {
            fail("cannot prepare home directory " + home + ": " + e, e, null);
            return;
        }

        info("starting Neo4j " + Version.getNeo4jVersion() + " (pid " + pid + ", home " + home
                + ", bolt " + boltAddrRaw + ", page cache " + pageCacheRaw
                + ", max heap " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB)");

        // ---- start the DBMS -------------------------------------------------------------
        DatabaseManagementService dbms;
        try {
            dbms = new DatabaseManagementServiceBuilder(home)
                    .setUserLogProvider(new Log4jLogProvider(System.out, Level.INFO))
                    // Bolt on the requested address only; plain text (local use).
                    .setConfig(BoltConnector.enabled, true)
                    .setConfig(BoltConnector.listen_address, boltAddr)
                    .setConfig(BoltConnector.advertised_address, boltAddr)
                    .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                    // No HTTP(S) endpoints.
                    .setConfig(HttpConnector.enabled, false)
                    .setConfig(HttpsConnector.enabled, false)
                    // Authentication on; the password is (re)set below on every start.
                    .setConfig(GraphDatabaseSettings.auth_enabled, true)
                    .setConfig(GraphDatabaseSettings.auth_minimum_password_length, MIN_PASSWORD_LENGTH)
                    .setConfig(GraphDatabaseSettings.pagecache_memory, pageCacheBytes)
                    // No usage reporting to Neo4j Inc.
                    .setConfig(GraphDatabaseSettings.udc_enabled, false)
                    // Logs (debug.log, ...) under HOME/logs.
                    .setConfig(GraphDatabaseSettings.logs_directory, home.resolve("logs"))
                    // Bolt's network shutdown otherwise idles 2 x 5 s after the databases have stopped.
                    .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 1)
                    .build();
        } catch (Throwable t) {
            fail(describeStartFailure(t, home, boltAddrRaw), t, null);
            return;
        }

        info("DBMS started after " + Duration.between(started, Instant.now()).toMillis() + " ms");
        try {
            Files.deleteIfExists(readyFile); // left over from a crash
        } catch (IOException ignored) {
            // overwritten below
        }
        Runnable shutdown = () -> {
            if (STOPPING.compareAndSet(false, true)) {
                try {
                    Files.deleteIfExists(readyFile);
                } catch (IOException ignored) {
                    // best effort
                }
                info("shutting down Neo4j ...");
                try {
                    dbms.shutdown();
                    info("Neo4j shut down cleanly");
                } catch (Throwable t) {
                    System.err.println(TS.format(Instant.now()) + " ERROR " + PREFIX + "shutdown failed: " + t);
                    t.printStackTrace();
                }
                System.out.flush();
                System.err.flush();
            }
        };
        Runtime.getRuntime().addShutdownHook(new Thread(shutdown, "provgraph-neo4j-shutdown"));

        // ---- databases available? password ----------------------------------------------
        String component;
        try {
            GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
            requireAvailable(system);
            setPassword(system, password);
            component = system.executeTransactionally(
                    "CALL dbms.components() YIELD name, versions, edition "
                            + "RETURN name + ' ' + versions[0] + ' ' + edition AS c",
                    Map.of(),
                    r -> r.hasNext() ? String.valueOf(r.next().get("c")) : "Neo4j");
            String defaultDb = dbms.listDatabases().contains(GraphDatabaseSettings.DEFAULT_DATABASE_NAME)
                    ? GraphDatabaseSettings.DEFAULT_DATABASE_NAME
                    : null;
            if (defaultDb != null) {
                requireAvailable(dbms.database(defaultDb));
            }
        } catch (Throwable t) {
            if (STOPPING.get()) {
                // SIGTERM during startup: the shutdown hook is stopping Neo4j; let it finish.
                info("startup interrupted by shutdown");
                return;
            }
            fail("Neo4j started but could not be initialised: " + rootMessage(t), t, shutdown);
            return;
        }

        if (STOPPING.get()) {
            return;
        }
        try {
            Files.createDirectories(readyFile.getParent());
            Path tmp = readyFile.resolveSibling("launcher.ready.tmp");
            Files.writeString(tmp, pid + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, readyFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            fail("cannot write " + readyFile + ": " + e, e, shutdown);
            return;
        }

        long ms = Duration.between(started, Instant.now()).toMillis();
        info("READY " + component + " bolt://" + boltAddrRaw + " user=" + USER + " pid=" + pid
                + " (started in " + ms + " ms)");
        // main returns; Neo4j's non-daemon threads keep the JVM alive until SIGTERM/SIGINT.
    }

    /** Sets the built-in user's password without requiring a change; idempotent. */
    static void setPassword(GraphDatabaseService system, String password) {
        boolean exists = system.executeTransactionally(
                "SHOW USERS YIELD user WHERE user = $user RETURN count(*) AS n",
                Map.of("user", USER),
                r -> ((Number) r.next().get("n")).longValue() > 0);
        if (!exists) {
            system.executeTransactionally(
                    "CREATE USER " + USER + " SET PASSWORD $password CHANGE NOT REQUIRED",
                    Map.of("password", password));
            info("created user '" + USER + "'");
            return;
        }
        try {
            system.executeTransactionally(
                    "ALTER USER " + USER + " SET PASSWORD $password CHANGE NOT REQUIRED",
                    Map.of("password", password));
            info("password of user '" + USER + "' set from NEO4J_PASSWORD");
        } catch (RuntimeException e) {
            // Neo4j refuses to "change" a password to the value it already has.
            if (!String.valueOf(rootMessage(e)).toLowerCase().contains("cannot be the same")) {
                throw e;
            }
            system.executeTransactionally("ALTER USER " + USER + " SET PASSWORD CHANGE NOT REQUIRED");
            info("password of user '" + USER + "' already matches NEO4J_PASSWORD");
        }
    }

    static void requireAvailable(GraphDatabaseService db) {
        if (!db.isAvailable(60_000)) {
            throw new IllegalStateException("database '" + db.databaseName() + "' is not available"
                    + " (see logs/debug.log under the home directory)");
        }
        // The system database only accepts administration commands.
        String probe = GraphDatabaseSettings.SYSTEM_DATABASE_NAME.equals(db.databaseName())
                ? "SHOW DEFAULT DATABASE"
                : "RETURN 1 AS one";
        try (Transaction tx = db.beginTx(); Result r = tx.execute(probe)) {
            r.resultAsString();
            tx.commit();
        }
    }

    static String describeStartFailure(Throwable t, Path home, String boltAddr) {
        for (Throwable c : causes(t)) {
            if (c instanceof BindException
                    || String.valueOf(c.getMessage()).toLowerCase().contains("address already in use")) {
                return "cannot listen on Bolt address " + boltAddr
                        + ": address already in use (another Neo4j running? set NEO4J_BOLT_ADDR)";
            }
        }
        List<Throwable> deepestFirst = causes(t);
        Collections.reverse(deepestFirst);
        for (Throwable c : deepestFirst) {
            String msg = String.valueOf(c.getMessage());
            if (c.getClass().getName().endsWith("FileLockException") || msg.contains("locked by another process")) {
                return "the store in " + home + " is locked by another process"
                        + " (another launcher using the same home dir?): " + msg;
            }
        }
        return "Neo4j failed to start: " + rootMessage(t);
    }

    static List<Throwable> causes(Throwable t) {
        List<Throwable> out = new ArrayList<>();
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Throwable> todo = new ArrayList<>(List.of(t));
        while (!todo.isEmpty()) {
            Throwable c = todo.remove(0);
            if (c == null || !seen.add(c)) {
                continue;
            }
            out.add(c);
            todo.add(c.getCause());
            todo.addAll(List.of(c.getSuppressed()));
        }
        return out;
    }

    static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root == t ? String.valueOf(t) : t + " (caused by " + root + ")";
    }

    static String env(String name, String def) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? def : v.trim();
    }

    static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSZ").withZone(ZoneOffset.UTC);

    /** Same layout as Neo4j's own log lines, which share the same output. */
    static void info(String msg) {
        System.out.println(TS.format(Instant.now()) + " INFO  " + PREFIX + msg);
        System.out.flush();
    }

    static void configError(String msg) {
        System.err.println(TS.format(Instant.now()) + " ERROR " + PREFIX + msg);
        System.err.flush();
        System.exit(2);
    }

    static void fail(String msg, Throwable t, Runnable shutdown) {
        if (t != null) {
            t.printStackTrace();
        }
        if (shutdown != null) {
            shutdown.run();
        }
        // Last, so it is what a tail of the log shows.
        System.err.println(TS.format(Instant.now()) + " ERROR " + PREFIX + msg);
        System.err.flush();
        // halt, not exit: Neo4j threads may be stuck after a failed start, and the message is out.
        Runtime.getRuntime().halt(1);
    }
}
