package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/store"
)

const tokenUsage = `Usage: provgraph token <command> [flags]

Manages API tokens. A token is sent as "Authorization: Bearer <token>" to every surface
(GraphQL, MLflow as MLFLOW_TRACKING_TOKEN, OpenLineage as the API key, SageMaker events);
its role says what it may do: reader (queries and exports), writer (also tracking writes
and ingest) or admin (also tokens and model version approvals).

Commands:
  create   create a token and print it, once (--name, --role, --expires); with --aws,
           an access key for the SageMaker API instead: it prints AWS_ACCESS_KEY_ID=… and
           AWS_SECRET_ACCESS_KEY=…, and keeps the secret sealed with --key-encryption-key
  keygen   write a new key-encryption key for access keys to --out (mode 0600)
  revoke   revoke a token (--name or --id); it is kept, marked revoked
  list     list tokens, without their secrets (--all includes revoked ones)

The database must be at this binary's schema version: start provgraph serve once first.

` + neo4jTarget + `
Run 'provgraph token <command> --help' for a command's flags.
`

// token runs `provgraph token create|revoke|list`.
func token(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, tokenUsage)
		return 2
	}
	if args[0] == "keygen" {
		return kekGen(args[1:], stdout, stderr)
	}
	var cfg store.Config
	var wait time.Duration
	fs := flag.NewFlagSet("token "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	neo4jFlags(fs, &cfg, &wait, cliNeo4jWait)
	var (
		name, id string
		all      bool
	)
	var run func(ctx context.Context, st *store.Store) error
	switch args[0] {
	case "create":
		run = tokenCreate(fs, stdout, stderr)
	case "revoke":
		fs.StringVar(&name, "name", "", "the `name` of the token to revoke")
		fs.StringVar(&id, "id", "", "or its `id`")
		run = func(ctx context.Context, st *store.Store) error {
			if (name == "") == (id == "") {
				return errors.New("give exactly one of --name and --id")
			}
			if name != "" {
				t, err := st.APITokenByName(ctx, "--name", name)
				if err != nil {
					return err
				}
				id = t.ID
			}
			tok, err := st.RevokeAPIToken(ctx, cliActor(), "--id", id)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "revoked API token %q (id %s) at %s\n", tok.Name, tok.ID, tok.RevokedAt.UTC().Format(time.RFC3339))
			return nil
		}
	case "list":
		fs.BoolVar(&all, "all", false, "include revoked tokens")
		run = func(ctx context.Context, st *store.Store) error {
			return listTokens(ctx, st, all, stdout)
		}
	case "help", "-h", "--help":
		fmt.Fprint(stdout, tokenUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "provgraph token: unknown command %q\n\n%s", args[0], tokenUsage)
		return 2
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: provgraph token %s [flags]\n\n%s\nFlags:\n", args[0], neo4jTarget)
		fs.PrintDefaults()
	}
	if err := parseArgs(fs, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "provgraph token %s: unexpected arguments %q\n", args[0], fs.Args())
		return 2
	}
	resolvePassword(&cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := withCurrentStore(ctx, cfg, wait, run); err != nil {
		fmt.Fprintf(stderr, "provgraph token %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// withCurrentStore opens the store and runs fn once Neo4j answers and its schema is the
// one this binary knows (an operator's tool never migrates the database under the
// servers).
func withCurrentStore(ctx context.Context, cfg store.Config, wait time.Duration, fn func(context.Context, *store.Store) error) (err error) {
	st, err := openStore(ctx, cfg, wait)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close(context.Background())) }()
	if err := st.Ready(ctx, store.Schema); err != nil {
		return fmt.Errorf("the database is not at schema version %d (%v): start provgraph serve of this version once, which upgrades it",
			store.Schema.Latest(), err)
	}
	return fn(ctx, st)
}

func listTokens(ctx context.Context, st *store.Store, all bool, out io.Writer) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tID\tCREATED\tCREATED BY\tEXPIRES\tREVOKED\tACCESS KEY ID")
	after := ""
	for {
		page, err := st.APITokens(ctx, store.MaxPageSize, after, all)
		if err != nil {
			return err
		}
		for _, t := range page.Tokens {
			revoked := "-"
			if t.RevokedAt != nil {
				revoked = t.RevokedAt.UTC().Format(time.RFC3339) + " by " + t.RevokedBy
			}
			expires := "never"
			if t.ExpiresAt != nil {
				expires = t.ExpiresAt.UTC().Format(time.RFC3339)
			}
			keyID := "-"
			if t.AccessKey {
				keyID = auth.AccessKeyID(t.ID)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, t.ID, t.CreatedAt.UTC().Format(time.RFC3339), t.CreatedBy, expires, revoked, keyID)
		}
		if page.EndCursor == "" {
			break
		}
		after = page.EndCursor
	}
	return tw.Flush()
}

func expiry(t store.APIToken) string {
	if t.ExpiresAt == nil {
		return "no expiry"
	}
	return "expires " + t.ExpiresAt.UTC().Format(time.RFC3339)
}

// cliActor is the actor the token commands record: the operator's login.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// bootstrapActor is the actor of tokens `provgraph serve --bootstrap-admin-token-file`
// creates.
const bootstrapActor = "serve:bootstrap"

// bootstrapAdminToken makes sure file holds a working admin token, for `make run`: the
// token in it when the database accepts it as admin, else a new one (named
// local-admin-<time>-<random>), written to file with mode 0600. It returns the token
// and whether it was created.
func bootstrapAdminToken(ctx context.Context, st *store.Store, file string) (string, bool, error) {
	b, err := os.ReadFile(file)
	switch {
	case err == nil:
		existing := strings.TrimSpace(string(b))
		if t, err := st.AuthenticateAPIToken(ctx, existing); err == nil && t.Role == auth.RoleAdmin {
			return existing, false, nil
		} else if err != nil && apperr.CodeOf(err) != apperr.Unauthenticated {
			return "", false, err
		}
		// Revoked, expired, not an admin's, or from another database: make a new one.
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, err
	}
	// Names are never reused: the time, and a random part for two starts in one second.
	var suffix [3]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return "", false, err
	}
	name := "local-admin-" + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(suffix[:])
	_, secret, err := st.CreateAPIToken(ctx, bootstrapActor, store.NewAPIToken{Name: name, Role: auth.RoleAdmin})
	if err != nil {
		return "", false, fmt.Errorf("create the local admin token: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return "", false, err
	}
	// SECURITY: the file is the admin's credential: readable by its owner only.
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("write the local admin token to %s: %w", file, err)
	}
	if err := os.Chmod(file, 0o600); err != nil {
		return "", false, err
	}
	return secret, true, nil
}

// tokenCreate declares the flags of `token create` on fs and returns what it runs: a
// bearer token, or with --aws an access key.
func tokenCreate(fs *flag.FlagSet, stdout, stderr io.Writer) func(ctx context.Context, st *store.Store) error {
	name := fs.String("name", "", "the token's `name` (letters, digits, '.', '_', '-'; never reused): writes record token:<name>")
	role := fs.String("role", "", "reader, writer or admin")
	expires := fs.Duration("expires", 0, "how long the token works, e.g. 720h; 0 for no expiry")
	aws := fs.Bool("aws", false, "create an access key (SigV4) for the SageMaker API instead of a bearer token")
	kekFile := fs.String("key-encryption-key", env("PROVGRAPH_KEY_ENCRYPTION_KEY", ""),
		"with --aws: the key-encryption-key `file` the server verifies access keys with (env PROVGRAPH_KEY_ENCRYPTION_KEY)")
	return func(ctx context.Context, st *store.Store) error {
		r, err := auth.ParseRole("--role", *role)
		if err != nil {
			return err
		}
		in := store.NewAPIToken{Name: *name, Role: r}
		if *expires < 0 {
			return fmt.Errorf("--expires %s: must not be negative", *expires)
		}
		if *expires > 0 {
			at := time.Now().Add(*expires)
			in.ExpiresAt = &at
		}
		if *aws {
			return createAccessKey(ctx, st, in, *kekFile, stdout, stderr)
		}
		tok, secret, err := st.CreateAPIToken(ctx, cliActor(), in)
		if err != nil {
			return apperr.WithField(apperr.WithField(err, "name", "--name"), "expiresAt", "--expires")
		}
		fmt.Fprintf(stderr, "created API token %q (role %s, id %s, %s); it is printed this once — store it now.\n"+
			"Send it as: Authorization: Bearer <token>\n", tok.Name, tok.Role, tok.ID, expiry(tok))
		fmt.Fprintln(stdout, secret)
		return nil
	}
}

// createAccessKey creates an access key, its secret sealed with the key-encryption key
// in kekFile, and prints it as the AWS SDKs' environment variables.
func createAccessKey(ctx context.Context, st *store.Store, in store.NewAPIToken, kekFile string, stdout, stderr io.Writer) error {
	if kekFile == "" {
		return errors.New("--aws needs --key-encryption-key: the file provgraph serve is started with (provgraph token keygen makes one)")
	}
	kek, err := auth.ReadKEK(kekFile)
	if err != nil {
		return fmt.Errorf("--key-encryption-key: %w", err)
	}
	sealer, err := auth.NewSealer(kek)
	if err != nil {
		return err
	}
	tok, keyID, secret, err := st.CreateAccessKey(ctx, cliActor(), in, sealer.Seal)
	if err != nil {
		return apperr.WithField(apperr.WithField(err, "name", "--name"), "expiresAt", "--expires")
	}
	fmt.Fprintf(stderr, "created access key %q (role %s, id %s, %s); its secret is printed this once — store it now.\n"+
		"Sign SageMaker API requests with it: set these in the environment of boto3 or the sagemaker SDK.\n", tok.Name, tok.Role, keyID, expiry(tok))
	fmt.Fprintf(stdout, "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n", keyID, secret)
	return nil
}

// kekGen runs `provgraph token keygen --out FILE`.
func kekGen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("token keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "the `file` to write the key to; it must not exist")
	if err := parseArgs(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "provgraph token keygen: --out is required")
		return 2
	}
	kek, err := auth.NewKEK()
	if err == nil {
		err = writeNewFile(*out, []byte(kek+"\n"))
	}
	if err != nil {
		fmt.Fprintln(stderr, "provgraph token keygen:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote a key-encryption key to %s: start provgraph serve with --key-encryption-key %s, and create access keys with the same\n", *out, *out)
	return 0
}

// writeNewFile writes b to a file that must not exist yet, readable by its owner only.
func writeNewFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	return errors.Join(err, f.Close())
}
