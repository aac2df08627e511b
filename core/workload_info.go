package core

import "colt/workloads"

// WorkloadInfo describes one workload of the catalog for listings (colt workloads, its --json
// output): what it is, where it comes from, its cost and its tasks.
type WorkloadInfo struct {
	// Name identifies the workload on the command line.
	Name string `json:"name"`
	// Description says in a line what the workload computes.
	Description string `json:"description"`
	// Source is "built-in" or the path of the configuration file that defined the workload.
	Source string `json:"source"`
	// FLOPs is the floating-point work of one run: each task's FLOPs times its weight, summed.
	FLOPs int64 `json:"flops"`
	// Bytes is the weighted minimal memory traffic: each task's MinBytes times its weight.
	Bytes int64 `json:"bytes"`
	// Tasks are the workload's programs; exactly one for a single workload.
	Tasks []TaskInfo `json:"tasks"`
}

// TaskInfo describes one program of a workload.
type TaskInfo struct {
	// Name identifies the task within its workload (MODEL:TASK on the command line).
	Name string `json:"name"`
	// Weight is how many times the task occurs in one run of its workload.
	Weight int `json:"weight"`
	// Stages is the task's program in the tensor-expression language, one stage per entry.
	Stages []string `json:"stages"`
	// FLOPs is the floating-point work of one run of the task.
	FLOPs int64 `json:"flops"`
	// Bytes is the size of the task's inputs and outputs: the least memory traffic.
	Bytes int64 `json:"bytes"`
}

// IsSingle reports whether the workload is one program rather than a model of several tasks.
func (w WorkloadInfo) IsSingle() bool { return len(w.Tasks) == 1 }

// ListWorkloads describes every workload of the configuration's catalog (the built-in ones,
// then those colt.toml defines), in catalog order. An invalid workload definition in the
// configuration is an InputError.
func ListWorkloads(cfg Config) ([]WorkloadInfo, error) {
	cat, err := cfg.Catalog()
	if err != nil {
		return nil, inputError(err)
	}
	all := cat.All()
	out := make([]WorkloadInfo, 0, len(all))
	for _, w := range all {
		out = append(out, workloadInfo(w))
	}
	return out, nil
}

// DescribeWorkload describes one workload of the configuration's catalog; MODEL:TASK names
// one task of a model. An unknown name is the catalog's error (listing the known names),
// marked as an InputError.
func DescribeWorkload(cfg Config, name string) (WorkloadInfo, error) {
	w, err := resolveWorkload(cfg, name)
	if err != nil {
		return WorkloadInfo{}, err
	}
	return workloadInfo(w), nil
}

// resolveWorkload builds the configuration's catalog and looks a workload up in it. Both an
// invalid catalog and an unknown name are InputErrors carrying the catalog's message.
func resolveWorkload(cfg Config, name string) (*workloads.Workload, error) {
	cat, err := cfg.Catalog()
	if err != nil {
		return nil, inputError(err)
	}
	w, err := cat.Get(name)
	if err != nil {
		return nil, inputError(err)
	}
	return w, nil
}

// workloadInfo describes a workload of the catalog.
func workloadInfo(w *workloads.Workload) WorkloadInfo {
	info := WorkloadInfo{Name: w.Name, Description: w.Description, Source: w.Source, FLOPs: w.FLOPs()}
	for _, t := range w.Tasks {
		info.Bytes += int64(t.Weight) * t.MinBytes
		info.Tasks = append(info.Tasks, TaskInfo{Name: t.Name, Weight: t.Weight, Stages: t.Stages, FLOPs: t.FLOPs, Bytes: t.MinBytes})
	}
	return info
}
