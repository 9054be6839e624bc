// Package store is the only package that speaks Cypher. It owns the provenance graph's
// rules — pinned versions, append-only facts, the actor on every write — so that the
// GraphQL resolvers, the ingest adapters and the CLI all get them by calling it.
//
// Every query is a constant string with parameters; labels and relationship types come
// from the constants in keys.go, never from user text. Writes run in managed write
// transactions and reads in managed read transactions (a read of one statement in an
// auto-commit one, retried as the driver retries managed ones: readOne), always
// against the configured database and with the driver's bookmark manager, so a read
// after a write sees it, also on a cluster; a request's own bookmarks (bookmarks.go)
// carry that across processes.
package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j/config"
	"github.com/rs/zerolog"

	"github.com/provgraph/provgraph/apperr"
)

// Config says how to reach Neo4j.
type Config struct {
	// URI is a bolt:// (one server) or neo4j:// (routing: cluster, Aura) URI.
	URI string
	// User and Password authenticate with Neo4j's basic auth.
	User     string
	Password string
	// Database is the database holding the graph ("neo4j" unless configured otherwise).
	Database string
	// MaxConnectionPoolSize bounds connections per server; 0 keeps the driver default.
	MaxConnectionPoolSize int
	// RetryTimeout bounds how long a transaction is retried on transient failures
	// (Neo4j unreachable, leader switch); 0 keeps the driver default of 30 s.
	RetryTimeout time.Duration
	// TokenCacheTTL is how long AuthenticateAPIToken trusts a token it looked up before
	// looking it up again (DefaultTokenCacheTTL is the service's default); 0 looks every
	// token up on every request. It bounds how long a token revoked through another
	// instance keeps working here.
	TokenCacheTTL time.Duration
	// AuditChain names the audit chain writes append to; "" is DefaultAuditChain. Tests
	// that tamper with entries use a chain of their own.
	AuditChain string
	// MaxWriters bounds the write transactions this process runs at once; 0 is
	// DefaultMaxWriters. More writers than Neo4j has cores to run them only contend for
	// its locks and CPU, and slow the reads beside them.
	MaxWriters int
	// AuditKey signs the audit log's checkpoints. A store without one records entries
	// but does not sequence them: some other process with the key must (auditsequencer.go).
	AuditKey *AuditKey
	// Logger, when set, is told when an outage of Neo4j starts and ends (outage.go).
	Logger *zerolog.Logger
	// BookmarkWait bounds how long AwaitBookmarks waits for Neo4j to reach a client's
	// bookmarks; 0 is DefaultBookmarkWait.
	BookmarkWait time.Duration
}

// Store is the provenance graph in Neo4j. It is safe for concurrent use.
type Store struct {
	driver neo4j.DriverWithContext
	db     string
	tokens tokenCache
	// auditChain is the chain write appends to (Config.AuditChain).
	auditChain string
	// health fails transactions fast while Neo4j cannot be reached (outage.go).
	health *health
	// uri is Config.URI without credentials, for error messages.
	uri string
	// auditKey signs checkpoints (Config.AuditKey); sequencer is this process's part in
	// sequencing the audit log.
	auditKey  *AuditKey
	sequencer *sequencer
	log       *zerolog.Logger
	// auditObserver hears what the audit sequencer does (ObserveAudit); read it through
	// auditObserved, under auditObserverMu.
	auditObserver   AuditObserver
	auditObserverMu sync.RWMutex
	// instance names this store in its transactions' metadata, txMeta (locks.go).
	instance string
	txMeta   [2]func(*neo4j.TransactionConfig)
	// bookmarkWait is Config.BookmarkWait.
	bookmarkWait time.Duration
	// retryTimeout is how long a failed read is retried: the driver's
	// MaxTransactionRetryTime (Config.RetryTimeout, or the driver's default).
	retryTimeout time.Duration
	// writers bounds this process's write transactions in flight (Config.MaxWriters).
	writers writerSlots
}

// Open creates a store for cfg. It does not contact Neo4j: call WaitReachable and
// Migrate before serving.
func Open(cfg Config) (*Store, error) {
	if cfg.URI == "" {
		return nil, errors.New("open store: Neo4j URI is empty")
	}
	if cfg.Database == "" {
		cfg.Database = "neo4j"
	}
	auth := neo4j.BasicAuth(cfg.User, cfg.Password, "")
	var retryTimeout time.Duration // the driver's, which readOne keeps to as well
	driver, err := neo4j.NewDriverWithContext(cfg.URI, auth,
		func(c *config.Config) {
			if cfg.MaxConnectionPoolSize > 0 {
				c.MaxConnectionPoolSize = cfg.MaxConnectionPoolSize
			}
			if cfg.RetryTimeout > 0 {
				c.MaxTransactionRetryTime = cfg.RetryTimeout
			}
			c.ConnectionAcquisitionTimeout = 30 * time.Second
			c.SocketConnectTimeout = 5 * time.Second
			retryTimeout = c.MaxTransactionRetryTime
		})
	if err != nil {
		return nil, fmt.Errorf("open store at %s: %w", cfg.URI, err)
	}
	if cfg.AuditChain == "" {
		cfg.AuditChain = DefaultAuditChain
	}
	instance, err := newInstanceID()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open store at %s: %w", cfg.URI, err), driver.Close(context.Background()))
	}
	if cfg.BookmarkWait <= 0 {
		cfg.BookmarkWait = DefaultBookmarkWait
	}
	h, err := newHealth(cfg.URI, auth, cfg.Database, cfg.Logger)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open store at %s: %w", cfg.URI, err), driver.Close(context.Background()))
	}
	return &Store{driver: driver, db: cfg.Database, tokens: tokenCache{ttl: cfg.TokenCacheTTL}, auditChain: cfg.AuditChain, health: h,
		uri: redactURI(cfg.URI), instance: instance, txMeta: txMetadataOf(instance), bookmarkWait: cfg.BookmarkWait,
		retryTimeout: retryTimeout,
		auditKey:     cfg.AuditKey, sequencer: newSequencer(), log: cfg.Logger, writers: newWriterSlots(cfg.MaxWriters)}, nil
}

// redactURI is uri fit for a message: a password in it (bolt://user:secret@host, which
// the driver ignores but a user may still write) is replaced by "xxxxx".
func redactURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		if i := strings.LastIndex(uri, "@"); i >= 0 {
			return "…@" + uri[i+1:] // unparsable: keep only the host part
		}
		return uri
	}
	return u.Redacted()
}

// Close releases the driver's connections.
func (s *Store) Close(ctx context.Context) error {
	s.sequencer.close()
	return errors.Join(s.health.close(ctx), s.driver.Close(ctx))
}

// WaitReachable retries until Neo4j answers (with the configured credentials) or ctx
// ends, so that provgraph and Neo4j can be started together. When ctx ends first the
// error is an *UnreachableError; refused credentials are ErrCredentialsRejected at once.
func (s *Store) WaitReachable(ctx context.Context, retryEvery time.Duration) error {
	var reason string
	for {
		err := s.driver.VerifyAuthentication(ctx, nil)
		if err == nil {
			return nil
		}
		if isAuthError(err) {
			return fmt.Errorf("%w at %s: %w", ErrCredentialsRejected, s.uri, err)
		}
		// The driver's dial may give up at ctx's deadline a moment before ctx says so.
		deadline, hasDeadline := ctx.Deadline()
		switch {
		case ctx.Err() == nil && !(hasDeadline && !time.Now().Before(deadline)):
			reason = connectFailure(err)
		case reason == "":
			// Cut short by ctx: it says only that time ran out, whatever the driver
			// was doing then. An earlier attempt that failed on its own says why.
			reason = "no answer in time"
		}
		select {
		case <-ctx.Done():
			return &UnreachableError{URI: s.uri, Reason: reason, Cause: errors.Join(err, ctx.Err())}
		case <-time.After(retryEvery):
		}
	}
}

// ErrCredentialsRejected: Neo4j answered, and refused the user and password.
var ErrCredentialsRejected = errors.New("Neo4j rejected the credentials")

// UnreachableError says that Neo4j did not answer at an address, and why, in words
// fit for the person who configured the address.
type UnreachableError struct {
	// URI is the address tried, without credentials.
	URI string
	// Reason is the last failure, short: "connection refused", "no such host", …
	Reason string
	// Cause is the driver's error, for errors.Is and errors.As.
	Cause error
}

func (e *UnreachableError) Error() string {
	return "cannot reach Neo4j at " + e.URI + ": " + e.Reason
}

func (e *UnreachableError) Unwrap() error { return e.Cause }

// connectFailure is the reason a connection attempt failed, without the driver's
// wrapping: the operating system's words for a refused or timed-out connection, the
// resolver's for an unknown host, else the driver's message.
func connectFailure(err error) string {
	var conn *neo4j.ConnectivityError
	if errors.As(err, &conn) && conn.Inner != nil {
		err = conn.Inner // ConnectivityError does not unwrap
	}
	var dns *net.DNSError
	var errno syscall.Errno
	var netErr net.Error
	switch {
	case errors.As(err, &dns):
		return "cannot resolve host " + dns.Name + ": " + dns.Err
	case errors.As(err, &errno):
		return errno.Error()
	case errors.As(err, &netErr) && netErr.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	}
	return err.Error()
}

func isAuthError(err error) bool {
	var nerr *neo4j.Neo4jError
	if errors.As(err, &nerr) {
		return nerr.Code == "Neo.ClientError.Security.Unauthorized" ||
			nerr.Code == "Neo.ClientError.Security.AuthenticationRateLimit"
	}
	return false
}

// sessionConfig is the configuration of a session for transactions of mode under ctx:
// the database, routing by mode, and the bookmarks (bookmarkManagerFor).
func (s *Store) sessionConfig(ctx context.Context, mode TxMode) neo4j.SessionConfig {
	access := neo4j.AccessModeWrite
	if mode == TxRead {
		access = neo4j.AccessModeRead
	}
	return neo4j.SessionConfig{
		DatabaseName:    s.db,
		AccessMode:      access,
		BookmarkManager: s.bookmarkManagerFor(ctx, mode),
		FetchSize:       neo4j.FetchAll,
	}
}

// write runs work in a managed write transaction and, when work succeeds, appends the
// audit entry of who doing action, with the target keys work recorded in au, as the
// transaction's last statement (see auditlog.go): every committed write has its entry,
// a rolled-back one has none, and so has one whose work found nothing to change
// (au.unchanged). The driver may retry work on transient failures, so work
// must be idempotent and free of side effects outside the transaction; it gets a fresh
// au on every attempt. A domain error returned by work rolls the transaction back.
func write[T any](ctx context.Context, s *Store, who, action string, work func(tx neo4j.ManagedTransaction, au *audit) (T, error)) (T, error) {
	release, err := s.acquireWriter(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	defer release()
	return transact(ctx, s, TxWrite, func(tx neo4j.ManagedTransaction) (T, error) {
		au := &audit{}
		res, err := work(tx, au)
		if err != nil || au.none {
			return res, err
		}
		if err := s.appendAudit(ctx, tx, who, action, au); err != nil {
			var zero T
			return zero, err
		}
		return res, nil
	})
}

// read runs work in a managed read transaction (routed to readers on a cluster).
func read[T any](ctx context.Context, s *Store, work func(tx neo4j.ManagedTransaction) (T, error)) (T, error) {
	return transact(ctx, s, TxRead, work)
}

// transact runs work in a managed transaction of the given mode in a session of its
// own, reporting to the context's TxObserver when there is one. During an outage of
// Neo4j it fails at once with UNAVAILABLE, and an outage that starts while work runs
// cancels it (outage.go).
func transact[T any](ctx context.Context, s *Store, mode TxMode, work func(tx neo4j.ManagedTransaction) (T, error)) (res T, err error) {
	ctx, leave, err := s.health.enter(ctx)
	if err != nil {
		return res, err
	}
	defer leave()
	if obs := txObserverFrom(ctx); obs != nil {
		start := time.Now()
		obs.TxStarted(mode)
		work = observed(obs, mode, start, work)
		defer func() { obs.TxDone(mode, time.Since(start), err) }()
	}
	execute := neo4j.ExecuteWrite[T]
	if mode == TxRead {
		execute = neo4j.ExecuteRead[T]
	}
	sess := s.driver.NewSession(ctx, s.sessionConfig(ctx, mode))
	defer func() { err = errors.Join(err, closeQuietly(ctx, sess)) }()
	res, err = execute(ctx, sess, retryable(work), txTimeout(ctx), s.txMetadata(mode))
	return res, s.settle(ctx, err)
}

// readOne runs one read statement as an auto-commit transaction of its own and
// returns what answer makes of its records. Neo4j commits it when the last record is
// pulled, where a managed transaction (read, neo4j.ExecuteQuery) sends COMMIT after
// the records and waits for its answer: a round trip less (BENCHMARKS.md, "Where a
// lineage request's time goes"). Database, bookmarks, routing, the deadline and outage
// handling are those of read. Drivers never retry an auto-commit transaction, so
// readOne retries what the driver retries a managed one on, as it does (readRetry); a
// read has nothing to undo, so running it again is safe. The TxObserver hears the
// transaction begun when Neo4j accepted the statement (the pool's wait, routing and
// one round trip), a retry for each later attempt that got that far, and answer's
// error as the transaction's.
func readOne[T any](ctx context.Context, s *Store, cypher string, params map[string]any, answer func([]*neo4j.Record) (T, error)) (res T, err error) {
	ctx, leave, err := s.health.enter(ctx)
	if err != nil {
		return res, err
	}
	defer leave()
	obs, start := txObserverFrom(ctx), time.Now()
	if obs != nil {
		obs.TxStarted(TxRead)
		defer func() { obs.TxDone(TxRead, time.Since(start), err) }()
	}
	retry := readRetry{start: start, limit: s.retryTimeout}
	begun := false
	accepted := func(lastErr error) {
		switch {
		case obs == nil:
		case !begun:
			obs.TxBegun(TxRead, time.Since(start))
		default:
			obs.TxRetried(TxRead, lastErr)
		}
		begun = true
	}
	var recs []*neo4j.Record
	for {
		lastErr := err
		recs, err = s.runAutoCommit(ctx, cypher, params, func() { accepted(lastErr) })
		if err == nil || !retry.again(ctx, err) {
			break
		}
	}
	if err = s.settle(ctx, err); err != nil {
		return res, err
	}
	return answer(recs)
}

// runAutoCommit runs cypher as an auto-commit read transaction in a session of its
// own, calls accepted once Neo4j has accepted it, and collects its records. The
// session is closed before it returns, so a failed attempt gives its connection back
// to the pool before readOne waits to retry.
func (s *Store) runAutoCommit(ctx context.Context, cypher string, params map[string]any, accepted func()) (recs []*neo4j.Record, err error) {
	sess := s.driver.NewSession(ctx, s.sessionConfig(ctx, TxRead))
	defer func() { err = errors.Join(err, closeQuietly(ctx, sess)) }()
	res, err := sess.Run(ctx, cypher, params, txTimeout(ctx), s.txMetadata(TxRead))
	if err != nil {
		return nil, err
	}
	accepted()
	return res.Collect(ctx)
}

// readRetry decides the retries of one single-statement read (readOne) as the driver
// decides those of a managed transaction: only after failures it retries
// (neo4j.IsRetryable), once at once when the connection was lost (most often a pooled
// connection the server had closed), else after 2 s doubling up to 32 s, jittered by a
// tenth, and never past limit (Config.RetryTimeout) from start or the caller's
// deadline.
type readRetry struct {
	start time.Time
	limit time.Duration
	// waits counts the waits made; atOnce is set once the retry at once was made.
	waits  int
	atOnce bool
}

// again says whether to make another attempt after one that failed with err, after
// waiting as long as it must.
func (r *readRetry) again(ctx context.Context, err error) bool {
	conn, lost := connectivityError(err)
	lost = lost && neo4j.IsRetryable(conn)
	if !lost && !neo4j.IsRetryable(err) || ctx.Err() != nil {
		return false
	}
	if lost && !r.atOnce {
		r.atOnce = true
		return time.Since(r.start) < r.limit
	}
	wait := 2 * time.Second << min(r.waits, 4)
	wait += time.Duration(rand.Int64N(int64(wait/5)+1)) - wait/10
	r.waits++
	if time.Since(r.start)+wait > r.limit {
		return false
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// connectivityError finds a lost connection in err, wrapped or not: the driver
// recognises one only unwrapped.
func connectivityError(err error) (*neo4j.ConnectivityError, bool) {
	var conn *neo4j.ConnectivityError
	ok := err != nil && errors.As(err, &conn)
	return conn, ok
}

// settle is the error of work done against Neo4j as callers see it (classify; a
// bookmark the request sent that Neo4j refuses is INVALID_ARGUMENT), and starts an
// outage check when Neo4j failed the work, not when the caller gave up.
func (s *Store) settle(ctx context.Context, err error) error {
	if err = classify(invalidBookmark(ctx, s.health.failure(ctx, err))); apperr.CodeOf(err) == apperr.Unavailable && context.Cause(ctx) == nil {
		s.health.suspect()
	}
	return err
}

// txTimeout gives a transaction the time left before ctx's deadline, so that Neo4j
// itself stops a query the caller has stopped waiting for (the driver honours the
// deadline only on its side of the connection). Without a deadline the server's
// default applies.
func txTimeout(ctx context.Context) func(*neo4j.TransactionConfig) {
	return func(c *neo4j.TransactionConfig) {
		deadline, ok := ctx.Deadline()
		if !ok {
			return
		}
		// Whole milliseconds, rounded up: Neo4j counts in them, and 0 would mean no limit.
		if left := time.Until(deadline); left > 0 {
			c.Timeout = (left + time.Millisecond - 1).Truncate(time.Millisecond)
		}
	}
}

// retryable lets the driver see a lost connection under the context that work wraps
// its errors in: the driver recognises connectivity errors only unwrapped, and would
// otherwise give up on a transaction it could have retried on another connection.
func retryable[T any](work func(tx neo4j.ManagedTransaction) (T, error)) func(tx neo4j.ManagedTransaction) (T, error) {
	return func(tx neo4j.ManagedTransaction) (T, error) {
		res, err := work(tx)
		if conn, ok := connectivityError(err); ok {
			return res, conn
		}
		return res, err
	}
}

// closeQuietly closes a session; a failure to close after the work already failed is
// classified like the work's own error.
func closeQuietly(ctx context.Context, sess neo4j.SessionWithContext) error {
	return classify(sess.Close(ctx))
}

// classify turns driver failures into domain errors: whatever means "Neo4j cannot
// serve this now" becomes UNAVAILABLE (its text kept as the cause, for the log only).
// Domain errors pass through; anything else stays an internal error.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	var (
		nerr  *neo4j.Neo4jError
		conn  *neo4j.ConnectivityError
		limit *neo4j.TransactionExecutionLimit
	)
	switch {
	case errors.As(err, &conn), errors.As(err, &limit), errors.Is(err, context.DeadlineExceeded):
		return apperr.UnavailableBecause(err, "the graph database is unavailable; retry later")
	case errors.Is(err, context.Canceled):
		return apperr.UnavailableBecause(err, "the request was cancelled")
	case errors.As(err, &nerr) && (nerr.Classification() == "TransientError" || isAuthError(err) ||
		nerr.Code == "Neo.ClientError.Database.DatabaseNotFound"):
		return apperr.UnavailableBecause(err, "the graph database is unavailable; retry later")
	case errors.As(err, &nerr) && strings.HasPrefix(nerr.Code, "Neo.ClientError.Transaction.TransactionTimedOut"):
		// The transaction outlived the time its request had left (see txTimeout).
		return apperr.UnavailableBecause(err, "the request took too long and the graph database stopped it")
	}
	return err
}

// collect runs a query in tx and returns all its records.
func collect(ctx context.Context, tx neo4j.ManagedTransaction, cypher string, params map[string]any) ([]*neo4j.Record, error) {
	res, err := tx.Run(ctx, cypher, params)
	if err != nil {
		return nil, err
	}
	return res.Collect(ctx)
}
