package workloads

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Catalog is every workload colt knows in one session: the built-ins followed by the user's
// workloads from the config file. It answers lookups by name, including "model:task".
type Catalog struct {
	list   []*Workload
	byName map[string]*Workload
}

// NewCatalog parses the user's workloads (from one config file, source) and adds them to
// the built-ins. A user workload may not reuse a built-in name. The tasks of a user model may
// refer to built-in and user workloads. All problems are reported, one line each.
func NewCatalog(user map[string]Spec, source string) (*Catalog, error) {
	c := &Catalog{byName: map[string]*Workload{}}
	for _, w := range Builtin() {
		c.list = append(c.list, w)
		c.byName[w.Name] = w
	}
	names := sortedKeys(user)
	var errs []error
	failed := map[string]bool{}
	inProgress := map[string]bool{}
	var get func(name string) (*Workload, error)
	get = func(name string) (*Workload, error) {
		if w, ok := c.byName[name]; ok {
			return w, nil
		}
		spec, ok := user[name]
		switch {
		case !ok:
			return nil, fmt.Errorf("unknown workload %q%s", name, suggest(name, c.names(names)))
		case failed[name]:
			return nil, fmt.Errorf("workload %q has errors of its own", name)
		case inProgress[name]:
			return nil, fmt.Errorf("workload %q refers back to itself through its tasks", name)
		}
		inProgress[name] = true
		defer delete(inProgress, name)
		w, err := parseWith(name, spec, source, true, func(ref string) (*Task, error) { return resolveTask(ref, get) })
		if err != nil {
			failed[name] = true
			errs = append(errs, err)
			return nil, fmt.Errorf("workload %q has errors of its own", name)
		}
		c.byName[name] = w
		return w, nil
	}
	for _, n := range names {
		if c.byName[n] != nil && c.byName[n].Source == BuiltinSource {
			errs = append(errs, fmt.Errorf("workload %q: the name is taken by a built-in workload; choose another name", n))
			failed[n] = true
			continue
		}
		get(n)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, n := range names {
		c.list = append(c.list, c.byName[n])
	}
	return c, nil
}

// Add adds a workload made elsewhere (a model read from a config.json) at the end of the
// catalog. Its name must be free.
func (c *Catalog) Add(w *Workload) error {
	if err := checkName("workload name", w.Name); err != nil {
		return fmt.Errorf("%s: %w", w.Source, err)
	}
	if old, ok := c.byName[w.Name]; ok {
		return fmt.Errorf("%s: the name %q is taken by a workload of %s", w.Source, w.Name, old.Source)
	}
	c.list = append(c.list, w)
	c.byName[w.Name] = w
	return nil
}

// All returns every workload: built-ins in catalog order, then user workloads sorted by name.
func (c *Catalog) All() []*Workload { return append([]*Workload(nil), c.list...) }

// Get returns the named workload. "model:task" returns a single-task workload holding that
// task of a model (weight 1). An unknown name is an error listing the known names, with a
// suggestion when one is close.
func (c *Catalog) Get(name string) (*Workload, error) {
	if w, ok := c.byName[name]; ok {
		return w, nil
	}
	if model, task, ok := strings.Cut(name, ":"); ok {
		w, ok := c.byName[model]
		if !ok {
			return nil, c.unknown(model)
		}
		t, err := findTask(w, task)
		if err != nil {
			return nil, err
		}
		single := *t
		single.Weight = 1
		single.Stages = append([]string(nil), t.Stages...)
		desc := t.desc
		if desc == "" {
			desc = fmt.Sprintf("task %s of %s", t.Name, w.Name)
		}
		return &Workload{Name: name, Description: desc, Source: w.Source, Tasks: []*Task{&single}}, nil
	}
	return nil, c.unknown(name)
}

func (c *Catalog) unknown(name string) error {
	names := c.names(nil)
	return fmt.Errorf("unknown workload %q%s; known workloads: %s", name, suggest(name, c.lookupNames()), strings.Join(names, ", "))
}

// names lists the catalog's workload names in catalog order, plus extra ones.
func (c *Catalog) names(extra []string) []string {
	var out []string
	for _, w := range c.list {
		out = append(out, w.Name)
	}
	return append(out, extra...)
}

// lookupNames is every name Get accepts: workloads and the model:task forms.
func (c *Catalog) lookupNames() []string {
	var out []string
	for _, w := range c.list {
		out = append(out, w.Name)
		if !w.IsSingle() {
			for _, t := range w.Tasks {
				out = append(out, w.Name+":"+t.Name)
			}
		}
	}
	return out
}

// suggest returns ` (did you mean "X"?)` for the candidate closest to name, or "" when none
// is close enough.
func suggest(name string, candidates []string) string {
	best, bestD := "", -1
	lname := strings.ToLower(name)
	for _, c := range candidates {
		d := editDistance(lname, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(2, len(name)/3)
	if bestD < 0 || bestD > limit || best == name {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between two strings, in bytes.
func editDistance(a, b string) int {
	if len(a) > 256 || len(b) > 256 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedStrings(s []string) []string {
	sort.Strings(s)
	return s
}
