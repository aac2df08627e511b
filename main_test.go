package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"colt/core"
)

// tinyConfig defines a small workload the CLI tests can build and run in milliseconds.
const tinyConfig = `
[workloads.tiny]
description = "a 5x3x7 matmul"
sizes = { M = 5, N = 3, K = 7 }
inputs = ["A[M, K]", "B[K, N]"]
stages = ["O[m, n] += A[m, k] * B[k, n]"]
`

// cli runs colt in-process and returns its exit code, stdout and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeConfig writes a configuration with its own work directory and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "colt.toml")
	body = "work_dir = " + quote(filepath.Join(dir, "work")) + "\n" + body
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// kernelVariant rewrites the generated C kernel of the tiny workload: before inserts code at the
// top of the kernel body, after at its end.
func kernelVariant(t *testing.T, config, before, after string) string {
	t.Helper()
	cfg, err := core.LoadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := cfg.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	w, err := cat.Get("tiny")
	if err != nil {
		t.Fatal(err)
	}
	src, err := core.Emit(w.Tasks[0], "c")
	if err != nil {
		t.Fatal(err)
	}
	sig := strings.Index(src, "void tiny(")
	open := strings.Index(src[sig:], "{") + sig
	end := strings.LastIndex(src, "}")
	if sig < 0 || open < sig || end < open {
		t.Fatalf("cannot find the kernel body in:\n%s", src)
	}
	src = src[:open+1] + "\n" + before + "\n" + src[open+1:end] + "\n" + after + "\n" + src[end:]
	path := filepath.Join(t.TempDir(), "kernel.c")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBadInputGivesOneLineErrors checks that every kind of bad input ends in a one-line error
// naming the problem and the right exit code, never a panic.
func TestBadInputGivesOneLineErrors(t *testing.T) {
	tiny := writeConfig(t, tinyConfig)
	bad := func(stages string) string {
		return writeConfig(t, `
[workloads.bad]
sizes = { M = 4, N = 6, K = 5 }
inputs = ["A[M, K]", "B[K, N]"]
stages = [`+stages+`]
`)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"missing workload flag", []string{"measure"}, exitUsage, "--workload is required"},
		{"unknown workload", []string{"show", "--workload", "llama3-8b-atn"}, exitUsage, "llama3-8b-attn"},
		{"stray argument", []string{"show", "llama3-8b-attn"}, exitUsage, "unexpected argument"},
		{"unknown emit format", []string{"show", "--workload", "flux-conv", "--emit", "ptx"}, exitUsage, "unknown --emit format"},
		{"malformed expression", []string{"workloads", "--config", bad(`"O[m, n] += A[m, k] * * B[k, n]"`)}, exitUsage, `workload "bad"`},
		{"unbound variable", []string{"workloads", "--config", bad(`"O[m, n] = A[m, q]"`)}, exitUsage, "q"},
		{"mismatched shapes", []string{"workloads", "--config", bad(`"O[m, n] += A[m, k] * B[m, n]"`)}, exitUsage, "extent"},
		{"unknown config key", []string{"workloads", "--config", writeConfig(t, "[backend]\nrepeats = 3\n")}, exitUsage, "unknown key backend.repeats"},
		{"malformed config", []string{"workloads", "--config", writeConfig(t, "[backend\n")}, exitUsage, "colt.toml"},
		{"missing config file", []string{"workloads", "--config", "/nonexistent/colt.toml"}, exitUsage, "read config"},
		{"missing compiler", []string{"measure", "--workload", "tiny", "--config", writeConfig(t, tinyConfig+"\n[backend]\ncc = \"/nonexistent/cc\"\n")}, exitUsage, "compiler"},
		{"kernel crashes", []string{"measure", "--quiet", "--workload", "tiny", "--config", tiny, "--source", kernelVariant(t, tiny, "__builtin_trap();", "")}, exitFailure, "crash"},
		{"kernel hangs", []string{"measure", "--quiet", "--workload", "tiny", "--config", tiny, "--timeout", "1", "--source", kernelVariant(t, tiny, "for (volatile int spin = 1; spin;) {}", "")}, exitFailure, "timeout"},
		{"kernel is wrong", []string{"measure", "--quiet", "--workload", "tiny", "--config", tiny, "--source", kernelVariant(t, tiny, "", "O[4] += 1.0f;")}, exitFailure, "wrong_result"},
		{"kernel does not compile", []string{"measure", "--quiet", "--workload", "tiny", "--config", tiny, "--source", kernelVariant(t, tiny, "this is not C;", "")}, exitFailure, "build_error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := cli(t, c.args...)
			if code != c.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, c.code, errOut)
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr does not mention %q:\n%s", c.want, errOut)
			}
			if lines := strings.Count(strings.TrimSpace(errOut), "\n") + 1; lines != 1 {
				t.Errorf("stderr has %d lines, want one:\n%s", lines, errOut)
			}
			if strings.Contains(errOut, "panic") || strings.Contains(errOut, "goroutine") {
				t.Errorf("a panic reached the user:\n%s", errOut)
			}
		})
	}
}

// TestMeasureAwkwardUserWorkload measures the example workload of the shipped colt.toml: prime
// sizes, stride 2, padding and a GELU epilogue.
func TestMeasureAwkwardUserWorkload(t *testing.T) {
	work := t.TempDir()
	code, out, errOut := cli(t, "measure", "--quiet", "--json", "--repeat", "1", "--config", "colt.toml", "--work-dir", work, "--workload", "example-conv-s2")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var m core.TaskMeasurement
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("output is not a measurement: %v\n%s", err, out)
	}
	if !m.Correct || m.Status != "ok" || m.MedianS <= 0 || m.GFLOPS <= 0 {
		t.Errorf("want a correct, timed measurement; got %+v", m)
	}
}

func TestMeasurePrintsVerdict(t *testing.T) {
	code, out, errOut := cli(t, "measure", "--quiet", "--repeat", "1", "--workload", "tiny", "--config", writeConfig(t, tinyConfig))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"status", "correct (max relative error", "GFLOP/s", "latency"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestWorkloadsListsCatalog(t *testing.T) {
	code, out, errOut := cli(t, "workloads", "--json", "--config", writeConfig(t, tinyConfig))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var list []workloadJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	names := map[string]workloadJSON{}
	for _, w := range list {
		names[w.Name] = w
	}
	for _, want := range []string{"llama3-8b-attn", "deepseek-r1-moe", "flux-attn", "flux-conv", "llama4-scout-mlp", "llama3-8b", "tiny"} {
		if _, ok := names[want]; !ok {
			t.Errorf("workloads lacks %s", want)
		}
	}
	if w := names["tiny"]; w.FLOPs != 2*5*3*7 || !strings.HasSuffix(w.Source, "colt.toml") {
		t.Errorf("tiny: flops %d source %q, want %d and the config path", w.FLOPs, w.Source, 2*5*3*7)
	}
	if w := names["llama3-8b"]; len(w.Tasks) != 7 {
		t.Errorf("llama3-8b has %d tasks, want 7", len(w.Tasks))
	}
}

func TestShowEmitsTIRAndC(t *testing.T) {
	for emit, want := range map[string]string{"tir": "@T.prim_func", "c": "void flux_conv("} {
		code, out, errOut := cli(t, "show", "--workload", "flux-conv", "--emit", emit)
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("show --emit %s: exit %d, output lacks %q\n%s%s", emit, code, want, out, errOut)
		}
	}
}
