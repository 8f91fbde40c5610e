package sqlstore_test

import (
	"path/filepath"
	"testing"

	"github.com/switchboard12345/switchboard/internal/testpg"
	"github.com/switchboard12345/switchboard/store/storetest"
)

func TestReferenceSQLite(t *testing.T) {
	storetest.RunReference(t, func(t *testing.T) storetest.Reference {
		return openSQLite(t, filepath.Join(t.TempDir(), "switchboard.db"))
	})
}

func TestReferencePostgres(t *testing.T) {
	storetest.RunReference(t, func(t *testing.T) storetest.Reference {
		return openPostgres(t, testpg.DSN(t))
	})
}
