package testbin

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "testbin")); err != nil {
		t.Fatalf("RepoRoot() = %s, which does not hold internal/testbin: %v", root, err)
	}
	for _, tool := range []string{"consul", "mailpit"} {
		if mod, err := modulePathOf(filepath.Join(root, "tools", tool, "go.mod")); err == nil && mod == ModulePath {
			t.Fatalf("tools/%s/go.mod must not declare the main module path", tool)
		}
	}
}
