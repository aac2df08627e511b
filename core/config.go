package core

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"colt/backend"
	"colt/workloads"
)

// Config is colt's configuration as read from colt.toml. Every field has a default, so an empty
// or missing file is a valid configuration.
type Config struct {
	WorkDir   string                    `toml:"work_dir"`
	Seed      uint64                    `toml:"seed"`
	Backend   BackendConfig             `toml:"backend"`
	Workloads map[string]workloads.Spec `toml:"workloads"`

	// Path is the file the configuration came from ("" for built-in defaults).
	Path string `toml:"-"`
}

// BackendConfig sets how candidates are compiled and timed.
type BackendConfig struct {
	CC            string   `toml:"cc"`
	CFlags        []string `toml:"cflags"`
	BuildWorkers  int      `toml:"build_workers"`
	BuildTimeoutS float64  `toml:"build_timeout_s"`
	RunTimeoutS   float64  `toml:"run_timeout_s"`
	Repeat        int      `toml:"repeat"`
	MinRepeatMs   int      `toml:"min_repeat_ms"`
	Threads       int      `toml:"threads"`
}

// DefaultConfig is the configuration used when colt.toml says nothing.
func DefaultConfig() Config {
	d := backend.DefaultConfig()
	return Config{
		WorkDir: ".colt",
		Seed:    1,
		Backend: BackendConfig{
			CFlags:        d.CFlags,
			BuildTimeoutS: d.BuildTimeout.Seconds(),
			RunTimeoutS:   d.RunTimeout.Seconds(),
			Repeat:        d.Repeat,
			MinRepeatMs:   d.MinRepeatMs,
		},
	}
}

// DefaultConfigFile is the configuration file read when no --config is given, if it exists.
const DefaultConfigFile = "colt.toml"

// LoadConfig reads a configuration file over the defaults. With an empty path it reads
// colt.toml from the current directory if there is one, and otherwise returns the defaults.
// Unknown keys are errors, so a typo never silently falls back to a default.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	explicit := path != ""
	if !explicit {
		path = DefaultConfigFile
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return cfg, nil
		}
		return cfg, fmt.Errorf("read config: %w", err)
	}
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		keys := make([]string, len(undecoded))
		for i, k := range undecoded {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return cfg, fmt.Errorf("config %s: unknown key %s (see the documented keys in the README)", path, strings.Join(keys, ", "))
	}
	cfg.Path = path
	return cfg, cfg.check()
}

func (c Config) check() error {
	b := c.Backend
	var bad []string
	if c.WorkDir == "" {
		bad = append(bad, "work_dir is empty, want a directory path")
	}
	if b.Repeat < 1 {
		bad = append(bad, fmt.Sprintf("backend.repeat is %d, want ≥ 1", b.Repeat))
	}
	if b.MinRepeatMs < 0 {
		bad = append(bad, fmt.Sprintf("backend.min_repeat_ms is %d, want ≥ 0", b.MinRepeatMs))
	}
	if b.BuildTimeoutS <= 0 || b.RunTimeoutS <= 0 {
		bad = append(bad, "backend.build_timeout_s and backend.run_timeout_s must be > 0")
	}
	if b.BuildWorkers < 0 || b.Threads < 0 {
		bad = append(bad, "backend.build_workers and backend.threads must be ≥ 0 (0 = one per core)")
	}
	if len(bad) > 0 {
		where := c.Path
		if where == "" {
			where = "defaults"
		}
		return fmt.Errorf("config %s: %s", where, strings.Join(bad, "; "))
	}
	return nil
}

// BackendSettings turns the configuration into the backend's own settings.
func (c Config) BackendSettings() backend.Config {
	b := backend.DefaultConfig()
	b.CC = c.Backend.CC
	if len(c.Backend.CFlags) > 0 {
		b.CFlags = c.Backend.CFlags
	}
	b.BuildWorkers = c.Backend.BuildWorkers
	if b.BuildWorkers == 0 {
		b.BuildWorkers = runtime.NumCPU()
	}
	b.BuildTimeout = seconds(c.Backend.BuildTimeoutS)
	b.RunTimeout = seconds(c.Backend.RunTimeoutS)
	b.Repeat = c.Backend.Repeat
	b.MinRepeatMs = c.Backend.MinRepeatMs
	b.Threads = c.Backend.Threads
	b.Seed = c.Seed
	b.CacheDir = filepath.Join(c.WorkDir, "cache")
	return b
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Catalog returns the built-in workloads plus those the configuration defines.
func (c Config) Catalog() (*workloads.Catalog, error) {
	source := c.Path
	if source == "" {
		source = "config"
	}
	return workloads.NewCatalog(c.Workloads, source)
}
