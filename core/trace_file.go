package core

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"colt/schedule"
)

// ReadTrace reads and parses a schedule trace JSON file (such as the trace.json colt export
// writes). Its errors start with the path and say what was wrong: the file cannot be read, or
// it is not a trace.
func ReadTrace(path string) (*schedule.Trace, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: %w", path, pe.Err)
		}
		return nil, err
	}
	t, err := schedule.ParseTrace(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (want a trace JSON file such as colt export writes: {\"insts\": [...]})", path, err)
	}
	return t, nil
}
