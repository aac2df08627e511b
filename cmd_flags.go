package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"colt/core"
)

// commonFlags are the flags every subcommand that reads the configuration accepts.
type commonFlags struct {
	configFile string
	workDir    string
	target     string
	arch       string
	model      string
	tokens     int
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.configFile, "config", "", "configuration file (default: ./colt.toml if present)")
	fs.StringVar(&c.workDir, "work-dir", "", "directory for records and caches (overrides work_dir)")
	fs.StringVar(&c.target, "target", "", "what to tune for: "+strings.Join(core.TargetKinds(), ", ")+
		" (default: target from the config, auto:\nthe NVIDIA GPU when a GPU and nvcc are present, else the CPU)")
	fs.StringVar(&c.model, "model-config", "", "a Hugging Face config.json: its model joins the workloads, named after its directory\n(Llama, Mistral, Qwen2/3, Mixtral, Qwen-MoE, DeepSeek-V2/V3; see 'colt workloads')")
	fs.IntVar(&c.tokens, "tokens", 16, "tokens of the forward step of --model-config's model")
	fs.StringVar(&c.arch, "arch", "", "CUDA arch to build for, e.g. sm_90 (default: the detected GPU's); lets show and\nexport compile CUDA on a machine without a GPU")
}

// config reads the configuration (--config, else ./colt.toml, else the defaults), with
// --work-dir applied.
func (c *commonFlags) config() (core.Config, error) {
	cfg, err := core.LoadConfig(c.configFile)
	if err != nil {
		return cfg, err
	}
	if c.workDir != "" {
		cfg.WorkDir = c.workDir
	}
	cfg.ModelConfig, cfg.ModelTokens = c.model, c.tokens
	if c.target != "" {
		if !slices.Contains(core.TargetKinds(), c.target) {
			return cfg, fmt.Errorf("unknown --target %q: want one of %s", c.target, strings.Join(core.TargetKinds(), ", "))
		}
		cfg.Target = c.target
	}
	if c.arch != "" {
		arch, err := core.ParseArch(c.arch)
		if err != nil {
			return cfg, fmt.Errorf("--arch: %w", err)
		}
		cfg.Backend.CUDAArch = arch
		if c.target == "" {
			cfg.Target = core.TargetCUDA
		}
	}
	return cfg, nil
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name, synopsis string, errOut io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintf(errOut, "Usage: colt %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, rejecting stray arguments; it returns the exit code to use when
// parsing did not succeed (0 after -h).
func parse(fs *flag.FlagSet, args []string) (ok bool, code int) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return false, exitOK
		}
		return false, exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "colt %s: unexpected argument %q (flags start with --)\n", fs.Name(), fs.Arg(0))
		return false, exitUsage
	}
	return true, exitOK
}

// defaultWorkload is --workload's value when it was not given: the model of --model-config.
func (c *commonFlags) defaultWorkload(given string) string {
	if given == "" && c.model != "" {
		return core.ModelConfigName(c.model)
	}
	return given
}
