package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"colt/core"
	"colt/schedule"
)

// asColtEnv makes the test binary behave as the colt command (see TestMain), so tests can run
// colt as a child process and kill it.
const asColtEnv = "COLT_TEST_AS_COLT"

func TestMain(m *testing.M) {
	if os.Getenv(asColtEnv) == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// tinyConfig defines a small workload the CLI tests can build and run in milliseconds.
const tinyConfig = `
[search]
confirm_top = 1    # one candidate, two rounds: the confirmation runs, briefly
confirm_rounds = 2

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

// writeText writes a file with the given content and returns its path.
func writeText(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "file.json")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

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
		{"tune without workload", []string{"tune", "--headless", "--config", tiny}, exitUsage, "--workload is required"},
		{"tune unknown strategy", []string{"tune", "--headless", "--workload", "tiny", "--config", tiny, "--strategy", "annealing"}, exitUsage, `unknown strategy "annealing"`},
		{"tune zero budget", []string{"tune", "--headless", "--workload", "tiny", "--config", tiny, "--budget", "0"}, exitUsage, "--budget is 0"},
		{"bench without workloads", []string{"bench", "--config", tiny}, exitUsage, "--workloads is required"},
		{"bench with a bad task order", []string{"bench", "--config", tiny, "--workloads", "llama3-8b", "--configs", "random@lifo"}, exitUsage, `unknown task order "lifo"`},
		{"bench bad budgets", []string{"bench", "--config", tiny, "--workloads", "tiny", "--budgets", "64,x"}, exitUsage, `"x" is not a budget`},
		{"bench unknown preset", []string{"bench", "--config", tiny, "--preset", "icml"}, exitUsage, `unknown preset "icml"`},
		{"tune unknown task order", []string{"tune", "--headless", "--workload", "tiny", "--config", tiny, "--task-order", "random"}, exitUsage, "want gradient or sequential"},
		{"bad task order in the config", []string{"tune", "--headless", "--workload", "tiny", "--config", writeConfig(t, strings.Replace(tinyConfig, "[search]\n", "[search]\ntask_order = \"lifo\"\n", 1))}, exitUsage, "search.task_order"},
		{"tune negative budget", []string{"tune", "--headless", "--workload", "tiny", "--config", tiny, "--budget", "-3"}, exitUsage, "--budget is -3"},
		{"a sketch for a whole model", []string{"tune", "--headless", "--workload", "llama3-8b", "--sketch", writeText(t, `{"insts": []}`), "--config", tiny}, exitUsage, "llama3-8b:"},
		{"tune malformed sketch", []string{"tune", "--headless", "--workload", "tiny", "--config", tiny, "--sketch", writeText(t, "{\"insts\": [}")}, exitUsage, "parse trace"},
		{"tune json-out in a missing dir", []string{"tune", "--headless", "--workload", "tiny", "--config", tiny, "--json-out", "/nonexistent/dir/r.json"}, exitUsage, "does not exist"},
		{"show malformed trace", []string{"show", "--workload", "tiny", "--config", tiny, "--trace", writeText(t, "not json")}, exitUsage, "parse trace"},
		{"show trace of unknown kind", []string{"show", "--workload", "tiny", "--config", tiny, "--trace", writeText(t, `{"insts": [{"kind": "Teleport"}]}`)}, exitUsage, `unknown kind "Teleport"`},
		{"show trace that does not apply", []string{"show", "--workload", "tiny", "--config", tiny, "--trace", writeText(t, `{"insts": [{"kind": "GetBlock", "name": "nope", "outputs": ["b0"]}]}`)}, exitUsage, "does not apply"},
		{"show missing trace file", []string{"show", "--workload", "tiny", "--config", tiny, "--trace", "/nonexistent/trace.json"}, exitUsage, "no such file"},
		{"show trace of a model", []string{"show", "--workload", "llama3-8b", "--trace", writeText(t, `{"insts": []}`)}, exitUsage, "single task"},
		{"export empty work dir", []string{"export", "--workload", "tiny", "--config", tiny, "--out", t.TempDir()}, exitFailure, "no successful record of tiny"},
		{"export without out", []string{"export", "--workload", "tiny", "--config", tiny}, exitUsage, "--out is required"},
		{"export without workload", []string{"export", "--out", t.TempDir()}, exitUsage, "--workload is required"},
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
	var list []core.WorkloadInfo
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	names := map[string]core.WorkloadInfo{}
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

// tiny16Config is a 16×16×16 matmul with a ReLU epilogue, timed with one single-call repeat so
// that a candidate runs in milliseconds.
const tiny16Config = `
[backend]
repeat = 1
min_repeat_ms = 0

[workloads.tiny16]
description = "16x16x16 matmul with a relu epilogue"
sizes = { M = 16, N = 16, K = 16 }
inputs = ["A[M, K]", "B[K, N]"]
stages = ["C[m, n] += A[m, k] * B[k, n]", "O[m, n] = relu(C[m, n])"]
`

// tiny16Sketch writes a sketch trace for tiny16 (the matmul's loops tiled in 4, 4 and 2, so
// thousands of candidates) and returns its path: the tests search it with --sketch, so they do
// not depend on the state of the design-space rules.
func tiny16Sketch(t *testing.T, config string) string {
	t.Helper()
	cfg, err := core.LoadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := cfg.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	w, err := cat.Get("tiny16")
	if err != nil {
		t.Fatal(err)
	}
	s := schedule.New(w.Tasks[0].Func(), rand.New(rand.NewPCG(1, 2)))
	b, err := s.GetBlock("C")
	if err != nil {
		t.Fatal(err)
	}
	loops, err := s.GetLoops(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{4, 4, 2} {
		tiles, err := s.SamplePerfectTile(loops[i], n, 64)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Split(loops[i], tiles); err != nil {
			t.Fatal(err)
		}
	}
	data, err := s.Trace().MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	return writeText(t, string(data))
}

// readRecords reads a records file line by line; every line must be a whole record.
func readRecords(t *testing.T, path string) []core.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []core.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for n := 1; sc.Scan(); n++ {
		var r core.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s line %d does not parse: %v\n%s", path, n, err, sc.Text())
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func uniqueHashes(t *testing.T, recs []core.Record) {
	t.Helper()
	seen := map[string]bool{}
	for i, r := range recs {
		if seen[r.CandidateHash] {
			t.Errorf("record %d: candidate %s measured twice", i+1, r.CandidateHash)
		}
		seen[r.CandidateHash] = true
	}
}

// TestTuneExportShowRoundTrip: tune (without --headless: it runs headless with a note) writes
// progress lines, a summary and the JSON report; export writes the best kernel, trace and
// program; show --trace rebuilds the exported program from the trace.
func TestTuneExportShowRoundTrip(t *testing.T) {
	config := writeConfig(t, tiny16Config)
	sketch := tiny16Sketch(t, config)
	jsonOut := filepath.Join(t.TempDir(), "report.json")
	code, out, errOut := cli(t, "tune", "--config", config, "--workload", "tiny16", "--strategy", "evolutionary",
		"--budget", "5", "--seed", "7", "--sketch", sketch, "--json-out", jsonOut)
	if code != exitOK {
		t.Fatalf("tune: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"not a terminal, so the console cannot open; running headless", "[1/5] ok", "[5/5] ok", "best", "GFLOP/s", "eta"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("tune's stderr lacks %q:\n%s", want, errOut)
		}
	}
	for _, want := range []string{"samples", "5 measured in this run (budget 5)", "baseline", "the baseline (sample", "colt export --workload tiny16"} {
		if !strings.Contains(out, want) {
			t.Errorf("tune's summary lacks %q:\n%s", want, out)
		}
	}
	var rep core.Report
	data, err := os.ReadFile(jsonOut)
	if err != nil || json.Unmarshal(data, &rep) != nil {
		t.Fatalf("report %s: %v\n%s", jsonOut, err, data)
	}
	if rep.Workload != "tiny16" || rep.Strategy != "evolutionary" || rep.Seed != 7 || rep.Samples != 5 || len(rep.History) != 5 || rep.BestLatencyS == nil {
		t.Errorf("report: %+v", rep)
	}

	dir := t.TempDir()
	code, out, errOut = cli(t, "export", "--config", config, "--workload", "tiny16", "--out", dir)
	if code != exitOK || !strings.Contains(out, "exported the best schedule of tiny16") {
		t.Fatalf("export: exit %d\n%s%s", code, out, errOut)
	}
	kernel, _ := os.ReadFile(filepath.Join(dir, "kernel.c"))
	for _, want := range []string{`workload "tiny16"`, "sch.split", "GFLOP/s", "void tiny16("} {
		if !strings.Contains(string(kernel), want) {
			t.Errorf("kernel.c lacks %q", want)
		}
	}
	program, _ := os.ReadFile(filepath.Join(dir, "program.tir"))
	code, out, errOut = cli(t, "show", "--config", config, "--workload", "tiny16", "--trace", filepath.Join(dir, "trace.json"))
	if code != exitOK || out != string(program) {
		t.Errorf("show --trace: exit %d, output differs from program.tir:\n%s\n%s", code, out, errOut)
	}
	code, out, _ = cli(t, "show", "--config", config, "--workload", "tiny16", "--trace", filepath.Join(dir, "trace.json"), "--emit", "c")
	if code != exitOK || !strings.Contains(string(kernel), out) {
		t.Errorf("show --trace --emit c: exit %d; the exported kernel does not contain its output:\n%s", code, out)
	}
}

// TestTuneKilledRunResumes starts colt tune as a child process, kills it with SIGKILL once a
// few candidates are recorded, then reruns the command to completion: every line of the
// records file is a whole record, no candidate is recorded twice, and the rerun measured its
// full budget of new candidates on top of what the killed run left.
func TestTuneKilledRunResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	config := writeConfig(t, tiny16Config)
	work := filepath.Join(filepath.Dir(config), "work")
	records := filepath.Join(work, core.RecordsFile)
	args := []string{"tune", "--config", config, "--workload", "tiny16", "--strategy", "random", "--budget", "30",
		"--seed", "3", "--headless", "--sketch", tiny16Sketch(t, config)}

	var out bytes.Buffer
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asColtEnv+"=1")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		data, _ := os.ReadFile(records)
		if bytes.Count(data, []byte("\n")) >= 4 {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the child exited (%v) before it was killed:\n%s", err, out.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no records after 2 minutes:\n%s", out.String())
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited

	store, err := core.OpenStore(work) // repairs a torn last line, if the kill left one
	if err != nil {
		t.Fatal(err)
	}
	left := store.Len()
	store.Close()
	if left < 4 || left >= 30 {
		t.Fatalf("the killed run left %d records, want 4 to 29", left)
	}

	code, stdout, errOut := cli(t, args...)
	if code != exitOK {
		t.Fatalf("rerun: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "resuming") || !strings.Contains(stdout, "from earlier runs") {
		t.Errorf("the rerun does not say it resumed:\n%s\n%s", errOut, stdout)
	}
	recs := readRecords(t, records)
	uniqueHashes(t, recs)
	if len(recs) != left+30 {
		t.Errorf("%d records, want the %d the killed run left plus the rerun's 30", len(recs), left)
	}
}

func TestCostModelEvalAndExportDataset(t *testing.T) {
	config := writeConfig(t, tiny16Config)
	workDir := t.TempDir()
	code, _, errOut := cli(t, "tune", "--config", config, "--work-dir", workDir, "--workload", "tiny16",
		"--strategy", "random", "--budget", "16", "--seed", "3", "--headless")
	if code != exitOK {
		t.Fatalf("tune: exit %d\n%s", code, errOut)
	}
	code, out, errOut := cli(t, "costmodel", "eval", "--config", config, "--work-dir", workDir, "--json", "--test-share", "0.25")
	if code != exitOK {
		t.Fatalf("costmodel eval: exit %d\n%s", code, errOut)
	}
	var rep core.CostModelEval
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, out)
	}
	if len(rep.Workloads) != 1 || rep.Workloads[0].Workload != "tiny16" || rep.Workloads[0].Test < 2 || rep.Examples < 10 {
		t.Fatalf("eval report: %+v", rep)
	}
	for _, q := range []core.RankingQuality{rep.Workloads[0].Learned, rep.Workloads[0].Analytic} {
		if q.PairwiseAccuracy < 0 || q.PairwiseAccuracy > 1 || q.Spearman < -1 || q.Spearman > 1 {
			t.Errorf("quality out of range: %+v", q)
		}
	}
	code, out, _ = cli(t, "costmodel", "eval", "--config", config, "--work-dir", workDir)
	if code != exitOK || !strings.Contains(out, "PAIRWISE") || !strings.Contains(out, "analytic") {
		t.Errorf("costmodel eval table: exit %d\n%s", code, out)
	}

	csv := filepath.Join(t.TempDir(), "data.csv")
	code, out, errOut = cli(t, "costmodel", "export-dataset", "--config", config, "--work-dir", workDir, "--out", csv)
	if code != exitOK {
		t.Fatalf("export-dataset: exit %d\n%s%s", code, out, errOut)
	}
	data, _ := os.ReadFile(csv)
	query, _ := os.ReadFile(csv + ".query")
	weights, _ := os.ReadFile(csv + ".weight")
	names, _ := os.ReadFile(csv + ".names")
	rows := strings.Split(strings.TrimSpace(string(data)), "\n")
	total := 0
	for _, q := range strings.Fields(string(query)) {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 {
			t.Fatalf("query file line %q", q)
		}
		total += n
	}
	if total != len(rows) || len(strings.Fields(string(weights))) != len(rows) {
		t.Fatalf("%d rows, the query file counts %d, the weight file has %d lines", len(rows), total, len(strings.Fields(string(weights))))
	}
	if cols := len(strings.Split(rows[0], ",")); cols != len(strings.Fields(string(names))) {
		t.Fatalf("%d columns, %d names", cols, len(strings.Fields(string(names))))
	}
}

func TestCostModelCommandErrors(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"costmodel"}, exitUsage, "Usage: colt costmodel"},
		{[]string{"costmodel", "train"}, exitUsage, `unknown subcommand "train"`},
		{[]string{"costmodel", "eval", "--work-dir", empty}, exitFailure, "run colt tune with this work dir first"},
		{[]string{"costmodel", "eval", "--work-dir", empty, "--test-share", "1.5"}, exitUsage, "--test-share is 1.5"},
		{[]string{"costmodel", "export-dataset", "--work-dir", empty}, exitUsage, "--out is required"},
	}
	for _, tt := range tests {
		code, _, errOut := cli(t, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("colt %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tt.args, " "), code, errOut, tt.code, tt.want)
		}
	}
}
