package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/ingest/sagemakerapi"
	"github.com/provgraph/provgraph/metrics"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

// serveConfig is everything `provgraph serve` can be told. Each field has a flag and
// an environment variable; a flag given on the command line wins over the variable.
type serveConfig struct {
	addr string
	// listener, when set, is served instead of listening on addr. Tests open theirs
	// before they start the server, so no other process can take the port in between.
	listener        net.Listener
	neo4j           store.Config
	neo4jWait       time.Duration
	logLevel        string
	logFormat       string
	shutdownTimeout time.Duration
	maxBodyBytes    int64
	artifactRoot    string
	tlsCert         string
	tlsKey          string
	// tls is the listener's TLS configuration, from tlsCert and tlsKey; nil serves
	// plain HTTP.
	tls            *tls.Config
	requestTimeout time.Duration
	production     bool
	tokenCacheTTL  time.Duration
	// anonymousReadLoopback lets requests without credentials from loopback read.
	anonymousReadLoopback bool
	// bootstrapTokenFile, when set, is made to hold a working admin token at start-up,
	// which is printed to notices in the console's sign-in link (`make run`).
	bootstrapTokenFile string
	// auditKeyFile holds the Ed25519 key that signs audit checkpoints; "" signs with a
	// key made at start-up (local use only).
	auditKeyFile string
	oidc         oidcFlags
	// kekFile holds the key-encryption key that opens access keys' secrets; "" verifies
	// no SigV4 signatures.
	kekFile string
	// aws configures the SageMaker API: the account and region its ARNs name.
	aws sagemakerapi.Options
	// notices is where messages for the person at the terminal go (never the log: the
	// bootstrap token is one); nil discards them.
	notices io.Writer
}

// oidcFlags are the OIDC / JWT settings as given on the command line.
type oidcFlags struct {
	issuer, audience, jwksURL, jwksFile, algorithms, roleClaim, roleMap string
	// consoleClientID and consoleScopes configure the console's sign-in with the issuer.
	consoleClientID, consoleScopes string
}

// defaultConsoleScopes are the scopes the console asks the issuer for unless told.
const defaultConsoleScopes = "openid profile"

func serveFlags(stderr io.Writer) (*flag.FlagSet, *serveConfig) {
	cfg := &serveConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", env("PROVGRAPH_ADDR", "127.0.0.1:8080"),
		"listen address `host:port` (env PROVGRAPH_ADDR)")
	neo4jFlags(fs, &cfg.neo4j, &cfg.neo4jWait, 60*time.Second)
	fs.StringVar(&cfg.logLevel, "log-level", env("PROVGRAPH_LOG_LEVEL", "info"),
		"log `level`: debug, info, warn, error (env PROVGRAPH_LOG_LEVEL)")
	fs.StringVar(&cfg.logFormat, "log-format", env("PROVGRAPH_LOG_FORMAT", "auto"),
		"log `format`: json, console, or auto = console on a terminal, else JSON (env PROVGRAPH_LOG_FORMAT)")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", envDuration("PROVGRAPH_SHUTDOWN_TIMEOUT", 30*time.Second),
		"how long in-flight requests may finish after SIGTERM (env PROVGRAPH_SHUTDOWN_TIMEOUT)")
	fs.Int64Var(&cfg.maxBodyBytes, "max-body-bytes", envInt("PROVGRAPH_MAX_BODY_BYTES", server.DefaultMaxBodyBytes),
		"largest accepted request body in bytes (env PROVGRAPH_MAX_BODY_BYTES)")
	fs.StringVar(&cfg.artifactRoot, "artifact-root", env("PROVGRAPH_ARTIFACT_ROOT", ".data/artifacts"),
		"`directory` the MLflow artifact proxy stores files in (env PROVGRAPH_ARTIFACT_ROOT)")
	fs.StringVar(&cfg.tlsCert, "tls-cert", env("PROVGRAPH_TLS_CERT", ""),
		"PEM certificate `file` (the chain, leaf first): serve HTTPS; needs --tls-key (env PROVGRAPH_TLS_CERT)")
	fs.StringVar(&cfg.tlsKey, "tls-key", env("PROVGRAPH_TLS_KEY", ""),
		"PEM private key `file` of --tls-cert (env PROVGRAPH_TLS_KEY)")
	fs.DurationVar(&cfg.requestTimeout, "request-timeout", envDuration("PROVGRAPH_REQUEST_TIMEOUT", server.DefaultRequestTimeout),
		"how long one GraphQL operation, MLflow call or single OpenLineage event, with its Neo4j transactions, may run (env PROVGRAPH_REQUEST_TIMEOUT)")
	fs.BoolVar(&cfg.production, "production", envBool("PROVGRAPH_PRODUCTION", false),
		"production mode: GraphQL validation errors give no \"Did you mean\" hints (env PROVGRAPH_PRODUCTION)")
	fs.DurationVar(&cfg.tokenCacheTTL, "token-cache-ttl", envDuration("PROVGRAPH_TOKEN_CACHE_TTL", store.DefaultTokenCacheTTL),
		"how long a looked-up API token is trusted before it is looked up again; bounds how long a token revoked through another instance keeps working here; 0 looks up every request (env PROVGRAPH_TOKEN_CACHE_TTL)")
	fs.BoolVar(&cfg.anonymousReadLoopback, "anonymous-read-loopback", envBool("PROVGRAPH_ANONYMOUS_READ_LOOPBACK", false),
		"let requests without credentials from a loopback address read (never write); unsafe behind a proxy on the same machine (env PROVGRAPH_ANONYMOUS_READ_LOOPBACK)")
	fs.StringVar(&cfg.bootstrapTokenFile, "bootstrap-admin-token-file", env("PROVGRAPH_BOOTSTRAP_ADMIN_TOKEN_FILE", ""),
		"for local use (make run): keep a working admin token in this `file`, creating one when it holds none, and print the console's sign-in link with it, http://<addr>/#token=<token>, to standard error, never to the log (env PROVGRAPH_BOOTSTRAP_ADMIN_TOKEN_FILE)")
	fs.IntVar(&cfg.neo4j.MaxWriters, "max-writers", int(envInt("PROVGRAPH_MAX_WRITERS", int64(store.DefaultMaxWriters))),
		"how many write transactions this process runs at once; more wait for a slot (within their request's time): more writers than Neo4j has cores to run them only contend and slow the reads beside them (env PROVGRAPH_MAX_WRITERS)")
	fs.StringVar(&cfg.neo4j.AuditChain, "audit-chain", env("PROVGRAPH_AUDIT_CHAIN", store.DefaultAuditChain),
		"the audit log this service records into; replicas of one service share it, and separate services sharing one Neo4j database each need their own (env PROVGRAPH_AUDIT_CHAIN)")
	fs.StringVar(&cfg.auditKeyFile, "audit-key", env("PROVGRAPH_AUDIT_KEY", ""),
		"the `file` holding the Ed25519 key that signs the audit log's checkpoints (provgraph audit keygen makes one); every replica needs the same key; when unset, a key made at start-up signs them, which no auditor can check after a restart: for local use only (env PROVGRAPH_AUDIT_KEY)")
	fs.StringVar(&cfg.oidc.issuer, "oidc-issuer", env("PROVGRAPH_OIDC_ISSUER", ""),
		"accept JWT bearer tokens from this issuer `URL` (their iss claim); off when empty (env PROVGRAPH_OIDC_ISSUER)")
	fs.StringVar(&cfg.oidc.audience, "oidc-audience", env("PROVGRAPH_OIDC_AUDIENCE", ""),
		"the audience JWTs must be issued for (their aud claim); required with --oidc-issuer (env PROVGRAPH_OIDC_AUDIENCE)")
	fs.StringVar(&cfg.oidc.jwksURL, "oidc-jwks-url", env("PROVGRAPH_OIDC_JWKS_URL", ""),
		"where the issuer's signing keys are (JWKS); discovered from the issuer when empty (env PROVGRAPH_OIDC_JWKS_URL)")
	fs.StringVar(&cfg.oidc.jwksFile, "oidc-jwks-file", env("PROVGRAPH_OIDC_JWKS_FILE", ""),
		"a local `file` with the signing keys (JWKS, or PEM public keys or certificates) instead of fetching them (env PROVGRAPH_OIDC_JWKS_FILE)")
	fs.StringVar(&cfg.oidc.algorithms, "oidc-algorithms", env("PROVGRAPH_OIDC_ALGORITHMS", strings.Join(auth.DefaultOIDCAlgorithms, ",")),
		"comma-separated signature algorithms JWTs may use; public-key ones only, never none or HS* (env PROVGRAPH_OIDC_ALGORITHMS)")
	fs.StringVar(&cfg.oidc.roleClaim, "oidc-role-claim", env("PROVGRAPH_OIDC_ROLE_CLAIM", auth.DefaultRoleClaim),
		"the JWT claim holding the caller's roles; a dotted name reaches into objects, e.g. realm_access.roles (env PROVGRAPH_OIDC_ROLE_CLAIM)")
	fs.StringVar(&cfg.oidc.roleMap, "oidc-role-map", env("PROVGRAPH_OIDC_ROLE_MAP", ""),
		"comma-separated value=role pairs mapping role claim values to reader, writer or admin, e.g. ml-auditors=reader,ml-admins=admin; by default the values reader, writer and admin map to themselves (env PROVGRAPH_OIDC_ROLE_MAP)")
	fs.StringVar(&cfg.oidc.consoleClientID, "oidc-console-client-id", env("PROVGRAPH_OIDC_CONSOLE_CLIENT_ID", ""),
		"the console's client `id` at the issuer (a public client, PKCE, redirect URI <this server's URL>/): the sign-in screen offers \"Sign in with <issuer>\"; needs --oidc-issuer (env PROVGRAPH_OIDC_CONSOLE_CLIENT_ID)")
	fs.StringVar(&cfg.oidc.consoleScopes, "oidc-console-scopes", env("PROVGRAPH_OIDC_CONSOLE_SCOPES", defaultConsoleScopes),
		"space-separated `scopes` the console asks the issuer for, with --oidc-console-client-id (env PROVGRAPH_OIDC_CONSOLE_SCOPES)")
	fs.StringVar(&cfg.kekFile, "key-encryption-key", env("PROVGRAPH_KEY_ENCRYPTION_KEY", ""),
		"the `file` of the key-encryption key that seals access keys' secrets (provgraph token keygen; token create --aws): without it, SigV4-signed SageMaker API requests are refused (env PROVGRAPH_KEY_ENCRYPTION_KEY)")
	fs.StringVar(&cfg.aws.AccountID, "aws-account-id", env("PROVGRAPH_AWS_ACCOUNT_ID", sagemakerapi.DefaultAccountID),
		"the 12-digit AWS account `id` in the ARNs the SageMaker API mints (env PROVGRAPH_AWS_ACCOUNT_ID)")
	fs.StringVar(&cfg.aws.Region, "aws-region", env("PROVGRAPH_AWS_REGION", sagemakerapi.DefaultRegion),
		"the AWS `region` in the ARNs the SageMaker API mints and in the SigV4 scope it verifies (env PROVGRAPH_AWS_REGION)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: provgraph serve [flags]

Serves the console at /, GraphiQL at /graphiql, GraphQL at POST /graphql, liveness at
/healthz, readiness at /readyz (Neo4j reachable and schema current) and Prometheus metrics at /metrics; HTTPS
(TLS 1.2 or later) when --tls-cert and --tls-key are given. At start-up it waits for Neo4j, then
creates or upgrades the database schema; a database whose schema is newer than this
binary is refused. SIGTERM or SIGINT stops accepting connections, lets in-flight
requests finish, then closes the Neo4j driver.

Every surface but GraphiQL's page, /healthz and /readyz needs a bearer token: an API
token (provgraph token create) or, with --oidc-issuer, a JWT. See docs/security.md.

`+neo4jTarget+`
Flags (each also read from the environment variable named; a flag wins):
`)
		fs.PrintDefaults()
	}
	return fs, cfg
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs, cfg := serveFlags(stderr)
	if err := parseArgs(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	resolvePassword(&cfg.neo4j)
	cfg.notices = stderr
	logger, err := newLogger(stdout, cfg.logLevel, cfg.logFormat)
	if err != nil {
		fmt.Fprintln(stderr, "provgraph serve:", err)
		return 2
	}
	if cfg.tls, err = tlsConfig(cfg.tlsCert, cfg.tlsKey); err != nil {
		fmt.Fprintln(stderr, "provgraph serve:", err)
		return 2
	}
	if err := cfg.aws.Check(); err != nil {
		fmt.Fprintln(stderr, "provgraph serve: --aws-account-id/--aws-region:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := runServer(ctx, cfg, logger); err != nil {
		logger.Error().Err(err).Msg("provgraph stopped with an error")
		return 1
	}
	return 0
}

func runServer(ctx context.Context, cfg *serveConfig, logger zerolog.Logger) (err error) {
	oidcVerifier, consoleOIDC, sealer, err := cfg.credentialCheckers(ctx)
	if err != nil {
		return err
	}
	if consoleOIDC != nil {
		logger.Info().Str("issuer", consoleOIDC.Issuer).Str("client_id", consoleOIDC.ClientID).
			Str("authorization_endpoint", consoleOIDC.AuthorizationEndpoint).Str("token_endpoint", consoleOIDC.TokenEndpoint).
			Msg("console sign-in with OIDC")
	}
	neo4jCfg, err := cfg.storeConfig(logger)
	if err != nil {
		return err
	}
	logger.Info().Str("neo4j_uri", cfg.neo4j.URI).Str("database", cfg.neo4j.Database).Msg("connecting to neo4j")
	st, err := openStore(ctx, neo4jCfg, cfg.neo4jWait)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = errors.Join(err, st.Close(closeCtx))
		logger.Info().Msg("neo4j driver closed")
	}()
	from, to, err := st.Migrate(ctx, store.Schema)
	if err != nil {
		return err
	}
	logger.Info().Int("from", from).Int("to", to).Msg("schema ready")
	stopSequencer := startAuditSequencer(st, logger)
	defer stopSequencer()
	var bootstrapToken string
	if cfg.bootstrapTokenFile != "" {
		var created bool
		if bootstrapToken, created, err = bootstrapAdminToken(ctx, st, cfg.bootstrapTokenFile); err != nil {
			return err
		}
		logger.Info().Str("file", cfg.bootstrapTokenFile).Bool("created", created).Msg("local admin token ready")
	}
	if cfg.anonymousReadLoopback {
		logger.Warn().Msg("requests without credentials from loopback may read (--anonymous-read-loopback)")
	}

	m := observe(ctx, st)
	defer m.stop()
	ln := cfg.listener
	if ln != nil {
		defer func() { _ = ln.Close() }() // also when start-up fails before serving
	} else {
		if ln, err = net.Listen("tcp", cfg.addr); err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.addr, err)
		}
	}
	srv := &http.Server{
		Handler: server.New(server.Options{Store: st, Metrics: m.Metrics, Logger: logger, MaxBodyBytes: cfg.maxBodyBytes, ArtifactRoot: cfg.artifactRoot,
			RequestTimeout: cfg.requestTimeout, Production: cfg.production,
			OIDC: oidcVerifier, ConsoleOIDC: consoleOIDC, AnonymousReadLoopback: cfg.anonymousReadLoopback, Version: version,
			AWS: cfg.aws, AccessKeys: sealer}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return logger.WithContext(context.Background()) },
	}
	serveErr := make(chan error, 1)
	scheme := "http"
	if cfg.tls != nil {
		scheme = "https"
		srv.TLSConfig = cfg.tls
		go func() { serveErr <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { serveErr <- srv.Serve(ln) }()
	}
	logger.Info().Str("addr", ln.Addr().String()).Bool("tls", cfg.tls != nil).
		Str("console", scheme+"://"+ln.Addr().String()+"/").Msg("provgraph serving")
	if bootstrapToken != "" && cfg.notices != nil {
		// SECURITY: the admin token goes to the person at the terminal, once, never to the
		// log; in the link it stands in the fragment, which browsers do not send.
		fmt.Fprintf(cfg.notices, "\nprovgraph: open %s to sign in to the console\n"+
			"provgraph: the link holds the local admin token, kept in %s; other clients send it as Authorization: Bearer <token> "+
			"(mlflow: MLFLOW_TRACKING_TOKEN; OpenLineage: OPENLINEAGE_API_KEY)\n\n",
			signInURL(scheme, ln.Addr(), bootstrapToken), cfg.bootstrapTokenFile)
	}

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info().Dur("timeout", cfg.shutdownTimeout).Msg("shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info().Msg("http server stopped")
	return nil
}

// observedStore is the server's metrics fed from outside requests: the audit
// sequencer's reports and the lock-wait samples, which run until stop.
type observedStore struct {
	*metrics.Metrics
	stop func()
}

// observe makes the metrics /metrics serves hear st's audit sequencer, and starts
// sampling st's lock waits (metrics.SampleLockWaits) until ctx ends or stop is
// called; stop returns once the sampler has, so it is done before st is closed.
func observe(ctx context.Context, st *store.Store) observedStore {
	m := metrics.New()
	st.ObserveAudit(m.Audit())
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.SampleLockWaits(ctx, metrics.LockWaitSampleEvery, st.RunningTransactions)
	}()
	return observedStore{Metrics: m, stop: func() {
		cancel()
		<-done
		st.ObserveAudit(nil)
	}}
}

// signInURL is the console's one-click sign-in link for the service listening at addr:
// the token in the URL's fragment (#token=…), which the browser keeps to itself — the
// console reads it, keeps it for the tab and removes it from the address bar — so it
// never reaches a request line, a proxy's log or the access log. A listener on every
// interface (0.0.0.0, ::) is linked through loopback, an address a browser can open.
func signInURL(scheme string, addr net.Addr, token string) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		host, port = addr.String(), ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip.To4() == nil {
			host = "::1"
		}
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	}
	u := url.URL{Scheme: scheme, Host: host, Path: "/", Fragment: "token=" + token}
	return u.String()
}

// tlsConfig is the listener's TLS configuration for a certificate and key file: nil
// when neither is given (plain HTTP), an error when only one is or when they cannot be
// loaded. It accepts TLS 1.2 and 1.3 with Go's default cipher suites, which offer
// only forward-secret, authenticated ones for TLS 1.2. The files are read once: a
// renewed certificate takes effect at the next start.
func tlsConfig(certFile, keyFile string) (*tls.Config, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case keyFile == "":
		return nil, errors.New("--tls-cert is set but --tls-key is not (env PROVGRAPH_TLS_KEY): give both to serve HTTPS, or neither for HTTP")
	case certFile == "":
		return nil, errors.New("--tls-key is set but --tls-cert is not (env PROVGRAPH_TLS_CERT): give both to serve HTTPS, or neither for HTTP")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s / --tls-key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// newLogger builds the process logger: JSON lines, or human-readable console output
// when asked or when stdout is a terminal.
func newLogger(out io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || lvl == zerolog.NoLevel {
		return zerolog.Logger{}, fmt.Errorf("--log-level %q: must be debug, info, warn or error", level)
	}
	switch format {
	case "auto":
		if f, ok := out.(*os.File); ok && isTerminal(f) {
			out = zerolog.ConsoleWriter{Out: out, TimeFormat: time.RFC3339}
		}
	case "console":
		out = zerolog.ConsoleWriter{Out: out, TimeFormat: time.RFC3339}
	case "json":
	default:
		return zerolog.Logger{}, fmt.Errorf("--log-format %q: must be json, console or auto", format)
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	logger := zerolog.New(out).Level(lvl).With().Timestamp().Logger()
	// Code that logs through zerolog.Ctx on a context without a logger still logs.
	zerolog.DefaultContextLogger = &logger
	return logger, nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
		fmt.Fprintf(os.Stderr, "provgraph: ignoring %s=%q: not a duration like 30s\n", name, v)
	}
	return def
}

func envBool(name string, def bool) bool {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
		fmt.Fprintf(os.Stderr, "provgraph: ignoring %s=%q: not true or false\n", name, v)
	}
	return def
}

func envInt(name string, def int64) int64 {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
		fmt.Fprintf(os.Stderr, "provgraph: ignoring %s=%q: not an integer\n", name, v)
	}
	return def
}

// verifier builds the JWT validation the flags describe; nil when no issuer is given.
func (f oidcFlags) verifier(ctx context.Context) (*auth.OIDC, error) {
	if f.issuer == "" {
		if f.audience != "" || f.jwksURL != "" || f.jwksFile != "" || f.roleMap != "" || f.consoleClientID != "" {
			return nil, errors.New("--oidc-audience, --oidc-jwks-url, --oidc-jwks-file, --oidc-role-map and --oidc-console-client-id need --oidc-issuer")
		}
		return nil, nil
	}
	cfg := auth.OIDCConfig{Issuer: f.issuer, Audience: f.audience, JWKSURL: f.jwksURL, JWKSFile: f.jwksFile, RoleClaim: f.roleClaim,
		// The console's sign-in needs the issuer's endpoints, even when the keys are given.
		DiscoverEndpoints: f.consoleClientID != ""}
	for _, a := range strings.Split(f.algorithms, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.Algorithms = append(cfg.Algorithms, a)
		}
	}
	for _, pair := range strings.Split(f.roleMap, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		value, role, ok := strings.Cut(pair, "=")
		r, err := auth.ParseRole("--oidc-role-map", role)
		if !ok || value == "" || err != nil {
			return nil, fmt.Errorf("--oidc-role-map: %q is not value=role with a role of reader, writer or admin", pair)
		}
		if cfg.RoleMap == nil {
			cfg.RoleMap = map[string]auth.Role{}
		}
		cfg.RoleMap[value] = r
	}
	discoverCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return auth.NewOIDC(discoverCtx, cfg)
}

// consoleSignIn is the console's OIDC sign-in the flags describe, with the endpoints o
// discovered; nil without --oidc-console-client-id.
func (f oidcFlags) consoleSignIn(o *auth.OIDC) (*server.ConsoleOIDC, error) {
	if o == nil || f.consoleClientID == "" {
		return nil, nil
	}
	ep, ok := o.Endpoints()
	if !ok {
		return nil, errors.New("--oidc-console-client-id: the issuer's endpoints were not discovered")
	}
	scopes := strings.FieldsFunc(f.consoleScopes, func(r rune) bool { return r == ' ' || r == ',' })
	signIn, err := server.NewConsoleOIDC(o.Issuer(), f.consoleClientID, scopes, ep)
	if err != nil {
		return nil, fmt.Errorf("--oidc-console-client-id: %w", err)
	}
	return signIn, nil
}

// storeConfig is the store's configuration: the Neo4j flags, the token cache, the
// logger and the audit checkpoint key.
func (cfg *serveConfig) storeConfig(logger zerolog.Logger) (store.Config, error) {
	c := cfg.neo4j
	c.TokenCacheTTL = cfg.tokenCacheTTL
	c.Logger = &logger
	if c.AuditKey != nil { // tests give one in cfg.neo4j
		return c, nil
	}
	var err error
	c.AuditKey, err = loadAuditKey(cfg.auditKeyFile, logger)
	return c, err
}

// loadAuditKey reads the checkpoint key from path, or makes one for this process when
// path is "" and says in the log that its checkpoints cannot be checked later.
func loadAuditKey(path string, logger zerolog.Logger) (*store.AuditKey, error) {
	var skey string
	if path == "" {
		var err error
		if skey, _, err = store.GenerateAuditKey("provgraph-ephemeral"); err != nil {
			return nil, err
		}
	} else {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--audit-key: %w (provgraph audit keygen --out %s creates one)", err, path)
		}
		skey = string(b)
	}
	key, err := store.ParseAuditKey(skey)
	if err != nil {
		return nil, fmt.Errorf("--audit-key %s: %w", path, err)
	}
	if path == "" {
		logger.Warn().Str("verifier_key", key.Verifier).
			Msg("audit checkpoints are signed with a key made at start-up; set --audit-key for checkpoints auditors can check after a restart")
	} else {
		logger.Info().Str("verifier_key", key.Verifier).Str("file", path).Msg("audit checkpoint key loaded")
	}
	return key, nil
}

// startAuditSequencer runs this replica's part in sequencing the audit log until the
// returned stop is called, which waits for it to release its lease.
func startAuditSequencer(st *store.Store, logger zerolog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := st.RunAuditSequencer(ctx); err != nil {
			logger.Error().Err(err).Msg("audit sequencer stopped")
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// credentialCheckers builds what verifies credentials besides API tokens: the OIDC
// verifier and the console's sign-in with it, and the sealer of access keys; each nil when
// not configured.
func (cfg *serveConfig) credentialCheckers(ctx context.Context) (*auth.OIDC, *server.ConsoleOIDC, *auth.Sealer, error) {
	verifier, err := cfg.oidc.verifier(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	console, err := cfg.oidc.consoleSignIn(verifier)
	if err != nil {
		return nil, nil, nil, err
	}
	sealer, err := accessKeySealer(cfg.kekFile)
	return verifier, console, sealer, err
}

// accessKeySealer opens access keys' secrets with the key-encryption key in file; nil
// when no file is given (SigV4 requests are then refused).
func accessKeySealer(file string) (*auth.Sealer, error) {
	if file == "" {
		return nil, nil
	}
	kek, err := auth.ReadKEK(file)
	if err != nil {
		return nil, fmt.Errorf("--key-encryption-key: %w", err)
	}
	return auth.NewSealer(kek)
}
