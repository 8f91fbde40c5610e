// Package classifytest finds the shared evaluation data sets
// (shared/datasets beside the repository) for the classifier's tests.
//
// Outside CI a test whose data set is missing is skipped with a message
// saying where it was looked for; under CI=true it fails, because CI always
// has the data and a silent skip would hide a broken path.
package classifytest

import (
	"os"
	"path/filepath"
	"testing"
)

// EnvDatasets names a directory holding the data sets, overriding the
// search for shared/datasets in the parents of the working directory.
const EnvDatasets = "SWITCHBOARD_DATASETS"

// Dataset returns the path of rel (e.g. "teddy2020c/train.csv") inside the
// shared data sets, or skips (fails under CI=true) the test when it is not
// there.
func Dataset(t testing.TB, rel string) string {
	t.Helper()
	var tried []string
	if d := os.Getenv(EnvDatasets); d != "" {
		p := filepath.Join(d, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		tried = append(tried, p)
	}
	dir, err := os.Getwd()
	if err == nil {
		for {
			p := filepath.Join(dir, "shared", "datasets", rel)
			if _, err := os.Stat(p); err == nil {
				return p
			}
			tried = append(tried, p)
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("data set %s not found (CI=true makes it mandatory); looked in %v", rel, tried)
	}
	t.Skipf("data set %s not found beside the repository (shared/datasets) nor in $%s: skipping", rel, EnvDatasets)
	return ""
}
