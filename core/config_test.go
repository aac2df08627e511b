package core

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"colt/backend"
	"colt/workloads"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "colt.toml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestShippedConfigMatchesDefaults(t *testing.T) {
	cfg, err := LoadConfig("../colt.toml")
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultConfig()
	if cfg.WorkDir != def.WorkDir || cfg.Seed != def.Seed {
		t.Errorf("colt.toml work_dir/seed = %q/%d, defaults %q/%d", cfg.WorkDir, cfg.Seed, def.WorkDir, def.Seed)
	}
	got, want := cfg.BackendSettings(), def.BackendSettings()
	if strings.Join(got.CFlags, " ") != strings.Join(want.CFlags, " ") || got.Repeat != want.Repeat ||
		got.MinRepeatMs != want.MinRepeatMs || got.RunTimeout != want.RunTimeout || got.BuildTimeout != want.BuildTimeout {
		t.Errorf("colt.toml documents %+v, but the defaults are %+v", got, want)
	}
	if cfg.Search.TaskOrder != def.Search.TaskOrder {
		t.Errorf("colt.toml search.task_order = %q, default %q", cfg.Search.TaskOrder, def.Search.TaskOrder)
	}
	if fmt.Sprint(cfg.Colt) != fmt.Sprint(def.Colt) {
		t.Errorf("colt.toml [colt] documents %+v, but the defaults are %+v", cfg.Colt, def.Colt)
	}
	if _, ok := cfg.Workloads["example-conv-s2"]; !ok {
		t.Error("colt.toml lost its example workload")
	}
}

func TestLoadConfig(t *testing.T) {
	cases := []struct {
		name string
		body string
		want string // substring of the error; "" for success
	}{
		{"empty file", "", ""},
		{"overrides", "seed = 7\n[backend]\nrepeat = 5\n", ""},
		{"unknown key", "[backend]\nrepeats = 5\n", "unknown key backend.repeats"},
		{"unknown task order", "[search]\ntask_order = \"lifo\"\n", "search.task_order: unknown task order \"lifo\": want gradient or sequential"},
		{"bad value", "[backend]\nrepeat = 0\n", "backend.repeat is 0, want ≥ 1"},
		{"several bad values", "[backend]\nrepeat = 0\nmin_repeat_ms = -1\n", "min_repeat_ms is -1"},
		{"wrong type", "seed = \"one\"\n", "seed"},
		{"syntax", "[backend\n", "colt.toml"},
		{"serve beyond loopback without TLS", "[serve]\nlisten = \"0.0.0.0\"\n", "set serve.tls_cert and serve.tls_key"},
		{"serve on loopback", "[serve]\nlisten = \"::1\"\nport = 5000\n", ""},
		{"serve beyond loopback with TLS", "[serve]\nlisten = \"10.0.0.5\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n", ""},
		{"serve port and ack wait", "[serve]\nport = 0\nack_wait_s = 0\n", "serve.port is 0"},
		{"colt search values", "[colt]\ninit_samples = 0\nexpansions_per_sample = 0.5\nrandom_share = 2\n",
			"colt.init_samples is 0, want ≥ 1; colt.expansions_per_sample is 0.5, want 1 to 64; colt.random_share is 2, want 0 to 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadConfig(writeFile(t, c.body))
			switch {
			case c.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestLoadConfigWithoutFileUsesDefaults(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	cfg, err := LoadConfig("")
	if err != nil || cfg.Path != "" || cfg.WorkDir != ".colt" {
		t.Errorf("LoadConfig(\"\") in an empty directory = %+v, %v; want the defaults", cfg, err)
	}
	if _, err := LoadConfig("missing.toml"); err == nil {
		t.Error("an explicit missing file must be an error")
	}
}

func TestRunTimeoutGrowsWithWork(t *testing.T) {
	be, err := backend.New(backend.Config{CacheDir: t.TempDir(), RunTimeout: 10 * time.Second, Repeat: 3})
	if err != nil {
		t.Fatalf("backend: %v", err)
	}
	small := &workloads.Task{FLOPs: 1e6}
	large := &workloads.Task{FLOPs: 100e9}
	if got := runTimeout(be, small, 0); got != 10*time.Second {
		t.Errorf("small task: %v, want the configured 10s", got)
	}
	// 4 calls (warm-up + 3 repeats) of 100 GFLOP at 0.05 GFLOP/s.
	if got := runTimeout(be, large, 0); got != 8000*time.Second {
		t.Errorf("large task: %v, want 8000s", got)
	}
	if got := runTimeout(be, large, time.Second); got != time.Second {
		t.Errorf("explicit timeout: %v, want 1s", got)
	}
}
