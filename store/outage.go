package store

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j/config"
	"github.com/rs/zerolog"

	"github.com/provgraph/provgraph/apperr"
)

// How the store notices that Neo4j cannot be reached, and that it can again.
const (
	// OutageSuspectAfter is how long a transaction may run before the store checks
	// that Neo4j still answers. Most finish in milliseconds; the check is one small
	// query on a connection of its own.
	OutageSuspectAfter = time.Second
	// OutageProbeTimeout bounds one check: connecting and running RETURN 1. A check
	// that takes longer has failed.
	OutageProbeTimeout = 3 * time.Second
	// OutageProbeEvery is how often an outage is checked for its end.
	OutageProbeEvery = 500 * time.Millisecond
	// OutageRecheck is how soon a failed check is repeated: the second failure in a
	// row starts the outage.
	OutageRecheck = 100 * time.Millisecond
)

// health knows whether Neo4j answers, so that an outage costs callers an immediate
// UNAVAILABLE rather than each waiting out the driver's retries until its deadline.
//
// A transaction still running after OutageSuspectAfter, or one that failed as
// unavailable, makes health check Neo4j through a driver of its own (so that a busy
// connection pool is not mistaken for an outage). Two failed checks in a row start an
// outage: the transactions in flight are cancelled with its error, and new ones fail
// with it at once, before they take a connection. During the outage health checks
// again every OutageProbeEvery, and the first check that succeeds ends it: the service
// recovers without a restart.
type health struct {
	probe neo4j.DriverWithContext
	db    string
	log   *zerolog.Logger

	mu       sync.Mutex
	down     *outageCause // the current outage; nil while Neo4j answers
	probing  bool
	lastUp   time.Time // when a check last succeeded
	inflight map[uint64]context.CancelCauseFunc
	seq      uint64
	closed   chan struct{} // closed by close: no more checks

	// stop cancels a check in flight when the store closes, and checks counts the
	// watch goroutines, so that close waits for them before closing the probe driver
	// (a check still using a closed driver races with its pool).
	stop   context.Context
	halt   context.CancelFunc
	checks sync.WaitGroup
}

// outageCause is what the transactions in flight when an outage starts are cancelled
// with, and what new ones fail with while it lasts.
type outageCause struct {
	err   *apperr.Error
	since time.Time
}

func (o *outageCause) Error() string { return o.err.Error() }

func newHealth(uri string, auth neo4j.AuthToken, db string, log *zerolog.Logger) (*health, error) {
	probe, err := neo4j.NewDriverWithContext(uri, auth, func(c *config.Config) {
		c.MaxConnectionPoolSize = 1
		c.ConnectionAcquisitionTimeout = OutageProbeTimeout
		c.SocketConnectTimeout = OutageProbeTimeout
		c.ConnectionLivenessCheckTimeout = 0 // an idle connection is checked before each use
	})
	if err != nil {
		return nil, err
	}
	stop, halt := context.WithCancel(context.Background())
	return &health{probe: probe, db: db, log: log, inflight: map[uint64]context.CancelCauseFunc{}, closed: make(chan struct{}),
		stop: stop, halt: halt}, nil
}

// enter admits a transaction: during an outage it returns the outage's error; else a
// context the outage cancels if one starts before leave is called.
func (h *health) enter(ctx context.Context) (_ context.Context, leave func(), _ error) {
	h.mu.Lock()
	if h.down != nil {
		err := h.down.err
		h.mu.Unlock()
		return ctx, nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	h.seq++
	id := h.seq
	h.inflight[id] = cancel
	h.mu.Unlock()
	timer := time.AfterFunc(OutageSuspectAfter, h.suspect)
	return ctx, func() {
		timer.Stop()
		h.mu.Lock()
		delete(h.inflight, id)
		h.mu.Unlock()
		cancel(nil)
	}, nil
}

// failure is the error a transaction under ctx (from enter) ends with: the outage's,
// when one cancelled it and the work had not failed on its own account (a domain
// error stands); else err.
func (h *health) failure(ctx context.Context, err error) error {
	var down *outageCause
	if _, domain := apperr.As(err); err != nil && !domain && errors.As(context.Cause(ctx), &down) {
		return down.err
	}
	return err
}

// suspect starts checking Neo4j unless a check is under way or one succeeded less
// than OutageProbeEvery ago (a busy Neo4j gets at most two checks a second).
func (h *health) suspect() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.probing || h.isClosed() || time.Since(h.lastUp) < OutageProbeEvery {
		return
	}
	h.probing = true
	h.checks.Add(1) // under mu, before close can wait: close sees every check started
	go h.watch()
}

// watch checks Neo4j until it answers: when an outage is suspected, and then every
// OutageProbeEvery while one lasts. An outage starts after two failed checks in a
// row, OutageRecheck apart, so that a single lost connection does not cancel work.
func (h *health) watch() {
	defer h.checks.Done()
	failed := 0
	for {
		err := h.ping()
		now := time.Now()
		h.mu.Lock()
		if h.isClosed() {
			h.probing = false
			h.mu.Unlock()
			return
		}
		if err == nil {
			over := h.down
			h.down, h.probing, h.lastUp = nil, false, now
			h.mu.Unlock()
			if over != nil && h.log != nil {
				h.log.Info().Dur("outage", now.Sub(over.since)).Msg("neo4j answers again: outage over")
			}
			return
		}
		failed++
		var cancels []context.CancelCauseFunc
		started := h.down == nil && failed >= 2
		if started {
			h.down = &outageCause{since: now, err: apperr.UnavailableBecause(err,
				"the graph database cannot be reached (since %s); retry later", now.UTC().Format(time.RFC3339))}
			for _, cancel := range h.inflight {
				cancels = append(cancels, cancel)
			}
		}
		down := h.down
		h.mu.Unlock()
		for _, cancel := range cancels {
			cancel(down)
		}
		if started && h.log != nil {
			h.log.Warn().Err(err).Int("cancelled_transactions", len(cancels)).
				Msg("neo4j does not answer: outage, requests fail with UNAVAILABLE until it does")
		}
		wait := OutageProbeEvery
		if down == nil {
			wait = OutageRecheck
		}
		select {
		case <-h.closed:
			return
		case <-time.After(wait):
		}
	}
}

// ping runs RETURN 1 on the probe driver. Only what says Neo4j cannot serve is a
// failure: no connection, no answer in time, the database unavailable, the
// credentials refused. Any other answer (a full thread pool, say) comes from a
// Neo4j that is up, only busy.
func (h *health) ping() error {
	err := h.run()
	var nerr *neo4j.Neo4jError
	if errors.As(err, &nerr) && !isAuthError(err) && nerr.Code != "Neo.TransientError.General.DatabaseUnavailable" &&
		nerr.Code != "Neo.ClientError.Database.DatabaseNotFound" {
		return nil
	}
	return err
}

func (h *health) run() error {
	ctx, cancel := context.WithTimeout(h.stop, OutageProbeTimeout)
	defer cancel()
	sess := h.probe.NewSession(ctx, neo4j.SessionConfig{DatabaseName: h.db, AccessMode: neo4j.AccessModeRead})
	defer func() { _ = sess.Close(ctx) }()
	res, err := sess.Run(ctx, "RETURN 1", nil)
	if err != nil {
		return err
	}
	_, err = res.Consume(ctx)
	return err
}

// Outage reports whether the store is in an outage (Neo4j failed two checks in a row
// and none since), and since when.
func (s *Store) Outage() (since time.Time, down bool) {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	if s.health.down == nil {
		return time.Time{}, false
	}
	return s.health.down.since, true
}

func (h *health) isClosed() bool {
	select {
	case <-h.closed:
		return true
	default:
		return false
	}
}

// close stops checking: it cancels a check in flight and waits for it to end before
// it closes the probe driver, which a check must not be using when it closes.
func (h *health) close(ctx context.Context) error {
	h.mu.Lock()
	if !h.isClosed() {
		close(h.closed)
	}
	h.mu.Unlock()
	h.halt()
	h.checks.Wait()
	return h.probe.Close(ctx)
}
