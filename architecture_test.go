package main

import (
	"go/build"
	"strings"
	"testing"
)

// TestOnlyCoreBelowTheCommandLineAndTheConsole: main and tui import no package of the project
// but core (and main the console, tui, and core's server and bench sub-packages), as DESIGN.md §3 lays
// out: everything else is reached through core.
func TestOnlyCoreBelowTheCommandLineAndTheConsole(t *testing.T) {
	allowed := map[string]map[string]bool{
		".":   {"colt/core": true, "colt/core/remote": true, "colt/core/bench": true, "colt/tui": true},
		"tui": {"colt/core": true},
	}
	for dir, ok := range allowed {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pkg.Imports {
			if (imp == "colt" || strings.HasPrefix(imp, "colt/")) && !ok[imp] {
				t.Errorf("package %s imports %s; it may import only %v of the project", pkg.ImportPath, imp, ok)
			}
		}
	}
}
