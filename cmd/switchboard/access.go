package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/gateway/auth"
	"github.com/switchboard12345/switchboard/gateway/authz"
	"github.com/switchboard12345/switchboard/gateway/config"
	"github.com/switchboard12345/switchboard/internal/ids"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

// DemoTokensFile is written into the data directory by `serve --demo`: a JSON
// object from role name to a bearer token of a demo principal of that role.
const DemoTokensFile = "demo-tokens.json"

// AdminTokenFile is written into the data directory when a server starts on
// a store without any principal: the first administrator's token.
const AdminTokenFile = "admin-token"

// demoPrincipals are the demo principals of deploy/examples/policy.csv, by
// the role name demo-tokens.json uses.
var demoPrincipals = []struct {
	role string
	p    store.Principal
}{
	{"operator", store.Principal{ID: "demo-operator", Name: "演示话务员", Unit: "gd-12345"}},
	{"street", store.Principal{ID: "demo-street", Name: "祖庙街道办事处演示账号", Unit: "fs-chancheng-zumiao"}},
	{"district", store.Principal{ID: "demo-district", Name: "禅城区演示账号", Unit: "fs-chancheng"}},
	{"department", store.Principal{ID: "demo-department", Name: "省市场监管局演示账号", Unit: "gd-samr"}},
	{"expert", store.Principal{ID: "demo-expert", Name: "12333专家坐席演示账号", Unit: "gd-12333-experts"}},
	{"leader", store.Principal{ID: "demo-leader", Name: "广州市领导演示账号", Unit: "gz"}},
	{"admin", store.Principal{ID: "demo-admin", Name: "演示管理员", Unit: "gd"}},
}

// seedPolicy fills an empty policy store: from the configured policy file,
// else from deploy/examples/policy.csv — all of it with --demo (the demo
// principals' grants refer to the example province's units), only its role
// lines otherwise.
func seedPolicy(ctx context.Context, st store.Auth, cfg config.Config, demo bool, log *slog.Logger) error {
	rev, err := st.PolicyRevision(ctx)
	if err != nil || rev > 0 {
		return err
	}
	data, source := examples.Policy, "deploy/examples/policy.csv"
	if cfg.Auth.Policy != "" {
		if data, err = os.ReadFile(cfg.Auth.Policy); err != nil {
			return fmt.Errorf("auth.policy: %w", err)
		}
		source = cfg.Auth.Policy
	}
	rules, err := authz.ParseCSV(data)
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	if cfg.Auth.Policy == "" && !demo {
		rules = slices.DeleteFunc(rules, func(r store.Rule) bool { return r.PType != "p" })
		source += " (roles only)"
	}
	if _, err := st.ChangePolicy(ctx, store.PolicyChange{Add: rules, Replace: true,
		Audit: store.AuditEntry{Actor: "system:startup", Action: "policy.import", Detail: "seeded from " + source}}); err != nil {
		return fmt.Errorf("seeding the access policy: %w", err)
	}
	log.Info("access policy seeded", "from", source, "rules", len(rules))
	return nil
}

// writeDemoTokens makes sure the demo principals exist, gives each a fresh
// token (revoking the previous demo tokens) and writes them to
// <data>/demo-tokens.json.
func writeDemoTokens(ctx context.Context, st store.Auth, dataDir string, now time.Time, newID func(time.Time) string) (string, error) {
	out := map[string]string{}
	for _, d := range demoPrincipals {
		p := d.p
		p.Kind, p.CreatedAt = store.PrincipalUser, now
		if old, err := st.GetPrincipal(ctx, p.ID); err == nil {
			p.CreatedAt = old.CreatedAt
		} else if !errors.Is(err, store.ErrPrincipalNotFound) {
			return "", err
		}
		if err := st.PutPrincipal(ctx, p); err != nil {
			return "", err
		}
		olds, err := st.ListTokens(ctx, p.ID)
		if err != nil {
			return "", err
		}
		for _, t := range olds {
			if t.Description == "demo" && t.RevokedAt.IsZero() {
				if err := st.RevokeToken(ctx, t.ID, now); err != nil {
					return "", err
				}
			}
		}
		secret, err := newToken(ctx, st, p.ID, "demo", "system:demo", now, newID)
		if err != nil {
			return "", err
		}
		out[d.role] = secret
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dataDir, DemoTokensFile)
	return path, writePrivate(path, append(b, '\n'))
}

// newToken creates an API token for principal and returns its secret.
func newToken(ctx context.Context, st store.Auth, principal, description, by string, now time.Time, newID func(time.Time) string) (string, error) {
	secret, hash, err := auth.NewToken(nil)
	if err != nil {
		return "", err
	}
	t := store.Token{ID: "tok-" + newID(now), Principal: principal, Hash: hash, Description: description, CreatedBy: by, CreatedAt: now}
	if err := st.CreateToken(ctx, t); err != nil {
		return "", err
	}
	if err := st.Audit(ctx, store.AuditEntry{At: now, Actor: by, Action: "token.create", Detail: t.ID + " for " + principal + " (" + description + ")"}); err != nil {
		return "", err
	}
	return secret, nil
}

// firstAdmin creates, on a store without any principal, the principal
// "admin" holding the admin role at the registry's root unit, and writes its
// token to <data>/admin-token (mode 0600) so the administrator can create
// everyone else. It returns the file's path, or "" when principals exist.
func firstAdmin(ctx context.Context, st store.Auth, snap *registry.Snapshot, dataDir string, now time.Time, newID func(time.Time) string) (string, error) {
	ps, err := st.ListPrincipals(ctx)
	if err != nil || len(ps) > 0 {
		return "", err
	}
	root := "*" // the whole province, while the registry is empty
	if units, _ := snap.Units(ctx); len(units) > 0 {
		root = units[0].ID
	}
	if err := st.PutPrincipal(ctx, store.Principal{ID: "admin", Name: "管理员", Kind: store.PrincipalUser, Unit: root, CreatedAt: now}); err != nil {
		return "", err
	}
	if _, err := st.ChangePolicy(ctx, store.PolicyChange{Add: []store.Rule{{PType: "g", Values: []string{"admin", "admin", root}}},
		Audit: store.AuditEntry{Actor: "system:startup", Action: "policy.grant", Detail: "g, admin, admin, " + root + " (first administrator)"}}); err != nil {
		return "", err
	}
	secret, err := newToken(ctx, st, "admin", "first administrator", "system:startup", now, newID)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dataDir, AdminTokenFile)
	return path, writePrivate(path, []byte(secret+"\n"))
}

func writePrivate(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// accessDeps builds the authenticator and the authorizer.
func accessDeps(ctx context.Context, cfg config.Config, st store.Auth, units func() *registry.Snapshot, log *slog.Logger) (*auth.Authenticator, *authz.Authorizer, error) {
	jwt, err := auth.LoadJWT(cfg.Auth.JWT)
	if err != nil {
		return nil, nil, err
	}
	authn, err := auth.New(auth.Options{Store: st, JWT: jwt, Now: time.Now, CacheTTL: cfg.Auth.TokenCacheTTL, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	var model string
	if cfg.Auth.Model != "" {
		b, err := os.ReadFile(cfg.Auth.Model)
		if err != nil {
			return nil, nil, fmt.Errorf("auth.model: %w", err)
		}
		model = string(b)
	}
	az, err := authz.New(ctx, authz.Options{Store: st, Units: units, Model: model, Logger: log.With("component", "authz")})
	if err != nil {
		return nil, nil, err
	}
	return authn, az, nil
}

const bootstrapUsage = `Usage: switchboard auth bootstrap --principal ID --role ROLE [--unit UNIT] [--name NAME] [--config FILE] [--data DIR]

Works on the store directly (not over the API), for the first administrator
or when every administrator is locked out: seeds an empty policy with the
example roles (or auth.policy), creates the principal if it does not exist,
grants it ROLE in UNIT (default: the registry's root unit, or * — the whole
province — while the registry is empty), creates an API token and prints it.
Every step is written to the audit log as system:bootstrap.
`

// bootstrapCmd is `switchboard auth bootstrap`.
func bootstrapCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("auth bootstrap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, bootstrapUsage) }
	configPath := fs.String("config", "", "YAML config `file`")
	dataDir := fs.String("data", "", "data `directory` (default ./data)")
	principal := fs.String("principal", "", "principal `id`, e.g. admin")
	name := fs.String("name", "", "display `name` of a new principal")
	role := fs.String("role", "", "`role` to grant, e.g. admin or operator")
	unit := fs.String("unit", "", "`unit` to grant the role in")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *principal == "" || *role == "" || fs.NArg() > 0 {
		fs.Usage()
		return usageError{"auth bootstrap needs --principal and --role"}
	}
	cfg := config.Default()
	if *configPath != "" {
		var err error
		if cfg, err = config.Load(*configPath); err != nil {
			return err
		}
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := seedPolicy(ctx, st, cfg, false, log); err != nil {
		return err
	}
	now := time.Now()
	pf, _, err := st.Registry().Load(ctx)
	if err != nil {
		return err
	}
	snap := registry.NewSnapshot(pf, 0)
	if *unit == "" {
		*unit = "*"
		if len(pf.Units) > 0 {
			*unit = pf.Units[0].ID
		}
	}
	grant := store.Rule{PType: "g", Values: []string{*principal, *role, *unit}}
	if err := authz.ValidateRule(grant, snap); err != nil {
		return err
	}
	p, err := st.GetPrincipal(ctx, *principal)
	switch {
	case errors.Is(err, store.ErrPrincipalNotFound):
		p = store.Principal{ID: *principal, Name: *name, Kind: store.PrincipalUser, Unit: *unit, CreatedAt: now}
		if p.Name == "" {
			p.Name = *principal
		}
		if err := st.PutPrincipal(ctx, p); err != nil {
			return err
		}
		if err := st.Audit(ctx, store.AuditEntry{At: now, Actor: "system:bootstrap", Action: "principal.create", Detail: p.ID}); err != nil {
			return err
		}
	case err != nil:
		return err
	case p.Disabled:
		p.Disabled = false
		if err := st.PutPrincipal(ctx, p); err != nil {
			return err
		}
	}
	if _, err := st.ChangePolicy(ctx, store.PolicyChange{Add: []store.Rule{grant},
		Audit: store.AuditEntry{Actor: "system:bootstrap", Action: "policy.grant", Detail: authz.FormatRule(grant)}}); err != nil {
		return err
	}
	secret, err := newToken(ctx, st, p.ID, "bootstrap", "system:bootstrap", now, ids.NewSource().New)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "granted %s to %s in %s; its new API token follows (shown once)\n", *role, p.ID, *unit)
	fmt.Fprintln(stdout, secret)
	return nil
}

// openStore opens the store cfg names, migrating it.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*sqlstore.Store, error) {
	opts := sqlstore.Options{MaxBatch: cfg.Store.MaxBatch, Logger: log}
	if cfg.Store.Driver == "postgres" {
		return sqlstore.OpenPostgres(ctx, cfg.Store.PostgresDSN, opts)
	}
	return sqlstore.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "switchboard.db"), opts)
}
