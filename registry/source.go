package registry

import "context"

// Source is where the registry is kept: the project's own store on a single node
// (store/sqlstore), Consul when many gateway instances share it
// (registry/consul). registrytest is the conformance suite every Source passes.
//
// Revisions: the registry as a whole has a revision that grows with every
// change (Load and Watch report it); each hotline has its own Revision, which a
// status change names so that a stale concurrent edit fails with a Conflict
// instead of overwriting.
type Source interface {
	// Load returns the whole registry and its revision.
	Load(ctx context.Context) (*ProvinceFile, uint64, error)

	// Import validates p and replaces the whole registry with it atomically:
	// a bad file changes nothing. Status histories of numbers are kept.
	Import(ctx context.Context, p *ProvinceFile, actor string) (uint64, error)

	// SetStatus moves the use of number in force at c.At through ChangeStatus
	// with the given guard, and records the change. expect is the hotline
	// Revision the change was based on (0: do not check); a different current
	// revision fails with kind Conflict. An unknown number fails with NotFound.
	SetStatus(ctx context.Context, number string, c StatusChange, expect uint64, guard RetireGuard) (Hotline, error)

	// History returns the recorded status changes of number, oldest first.
	History(ctx context.Context, number string) ([]StatusChange, error)

	// Watch blocks until the registry's revision is greater than after, or ctx
	// ends, and returns the revision it saw.
	Watch(ctx context.Context, after uint64) (uint64, error)
}
