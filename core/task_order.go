package core

import (
	"fmt"
	"strings"
)

// TaskOrder says how the tasks of a model share its budget.
type TaskOrder string

// The task orders.
const (
	// TaskOrderGradient is the task scheduler: rounds go, after a warm-up round per task, to
	// the task expected to lower the end-to-end latency the most (Ansor / MetaSchedule's
	// gradient rule).
	TaskOrderGradient TaskOrder = "gradient"
	// TaskOrderSequential tunes the tasks one after another, each with an equal share of the
	// budget.
	TaskOrderSequential TaskOrder = "sequential"
)

// taskOrderEntry is one row of the task-order table.
type taskOrderEntry struct {
	order       TaskOrder
	description string
}

// taskOrderTable lists the task orders, the default first; --task-order's help, the
// configuration check and the README come from it.
func taskOrderTable() []taskOrderEntry {
	return []taskOrderEntry{
		{TaskOrderGradient, "the task scheduler: rounds of samples go to the task expected to lower the end-to-end latency most"},
		{TaskOrderSequential, "one task after another in the model's order, each with an equal share of the budget"},
	}
}

// TaskOrderInfo describes a task order for help texts.
type TaskOrderInfo struct {
	Order       TaskOrder
	Description string
}

// TaskOrders lists the task orders --task-order accepts, the default first.
func TaskOrders() []TaskOrderInfo {
	var out []TaskOrderInfo
	for _, e := range taskOrderTable() {
		out = append(out, TaskOrderInfo{Order: e.order, Description: e.description})
	}
	return out
}

// ParseTaskOrder checks a task order's name; the error lists the names there are.
func ParseTaskOrder(name string) (TaskOrder, error) {
	var names []string
	for _, e := range taskOrderTable() {
		if string(e.order) == name {
			return e.order, nil
		}
		names = append(names, string(e.order))
	}
	return "", fmt.Errorf("unknown task order %q: want %s", name, strings.Join(names, " or "))
}
