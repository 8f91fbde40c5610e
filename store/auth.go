package store

import (
	"context"
	"time"

	"github.com/switchboard12345/switchboard/internal/errs"
)

// ErrPrincipalNotFound is returned (wrapped) for an unknown principal.
var ErrPrincipalNotFound = &errs.Error{Kind: errs.NotFound, Msg: "principal not found"}

// ErrTokenNotFound is returned (wrapped) for an unknown API token.
var ErrTokenNotFound = &errs.Error{Kind: errs.NotFound, Msg: "token not found"}

// Auth is the store of who may call the API: principals, their API tokens
// (stored hashed), the access policy as Casbin rules, and the audit log.
// sqlstore implements it; storetest checks it.
type Auth interface {
	// PutPrincipal creates or replaces principal p (by ID).
	PutPrincipal(ctx context.Context, p Principal) error
	// GetPrincipal returns principal id or ErrPrincipalNotFound.
	GetPrincipal(ctx context.Context, id string) (Principal, error)
	// ListPrincipals returns every principal ordered by ID.
	ListPrincipals(ctx context.Context) ([]Principal, error)

	// CreateToken stores a new token (only its hash). The principal must exist.
	CreateToken(ctx context.Context, t Token) error
	// TokenByHash returns the token whose SHA-256 is hash, revoked or expired
	// ones included (the caller decides), or ErrTokenNotFound.
	TokenByHash(ctx context.Context, hash []byte) (Token, error)
	// ListTokens returns the tokens of principal (all principals when empty),
	// newest first, hashes left out.
	ListTokens(ctx context.Context, principal string) ([]Token, error)
	// RevokeToken marks token id revoked at at; revoking twice keeps the first
	// time. Unknown id: ErrTokenNotFound.
	RevokeToken(ctx context.Context, id string, at time.Time) error

	// LoadPolicy returns every policy rule and the policy revision they make
	// up, read in one consistent snapshot: the rules are exactly those of
	// that revision.
	LoadPolicy(ctx context.Context) (rules []Rule, revision int64, err error)
	// ChangePolicy applies c in one transaction: removes c.Remove (missing
	// rules are ignored), or every rule when c.Replace, then adds c.Add
	// (rules already present are ignored), increments the revision, writes
	// c.Audit (its Detail is kept as given) and, on PostgreSQL, notifies
	// PolicyChannel with the new revision. It returns the new revision.
	ChangePolicy(ctx context.Context, c PolicyChange) (revision int64, err error)
	// PolicyRevision returns the current policy revision (0 before any change).
	PolicyRevision(ctx context.Context) (int64, error)
	// PolicyNotify returns a channel that receives (without blocking the
	// writer) a revision whenever a policy change commits, in this process or,
	// on PostgreSQL, in any process on the same database (LISTEN/NOTIFY). The
	// channel closes when ctx ends. Notifications may be lost or merged: a
	// watcher still polls PolicyRevision as a fallback.
	PolicyNotify(ctx context.Context) (<-chan int64, error)

	// Audit appends entries to the audit log in one transaction, durably.
	Audit(ctx context.Context, entries ...AuditEntry) error
	// ListAudit returns audit entries matching q, newest first.
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, bool, error)
}

// PolicyChannel is the PostgreSQL NOTIFY channel of policy changes.
const PolicyChannel = "switchboard_policy"

// Principal kinds.
const (
	PrincipalUser    = "user"
	PrincipalService = "service" // a backend's service account
)

// Principal is a user or a service account.
type Principal struct {
	ID   string // e.g. "u-lina" or "svc-gd-hrss"
	Name string // display name, e.g. 李娜
	Kind string // PrincipalUser or PrincipalService
	// Unit is the org-tree unit the principal belongs to.
	Unit      string
	Disabled  bool
	CreatedAt time.Time
}

// Token is an API token. Only the SHA-256 of the secret is stored.
type Token struct {
	ID          string
	Principal   string
	Hash        []byte // SHA-256 of the secret; empty in lists
	Description string
	CreatedBy   string
	CreatedAt   time.Time
	ExpiresAt   time.Time // zero: never
	RevokedAt   time.Time // zero: not revoked
}

// Rule is one Casbin policy line: PType ("p", "g", …) and its values.
type Rule struct {
	PType  string
	Values []string
}

// PolicyChange is one atomic change to the policy.
type PolicyChange struct {
	Add     []Rule
	Remove  []Rule
	Replace bool // remove every rule first (an import)
	Audit   AuditEntry
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID     int64
	At     time.Time
	Actor  string // principal id
	Action string // e.g. "pii.read", "policy.change", "token.create"
	Ticket string // ticket id, when about one
	// Fields names the personal-data fields read unmasked, e.g. caller.phone.
	Fields []string
	Detail string
}

// AuditQuery selects audit entries; empty fields match everything.
type AuditQuery struct {
	Actor  string
	Action string
	Ticket string
	// PageSize is at least 1; Before is the ID of the last entry of the
	// previous page (0 for the first).
	PageSize int
	Before   int64
}
