package remote

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/nats-io/nats.go"

	"colt/backend"
)

// Payloads above gzipAbove bytes are compressed (a console's snapshot with a large tree), and
// say so in the encodingHeader header.
const (
	gzipAbove      = 64 << 10
	encodingHeader = "Colt-Encoding"
	maxDecoded     = 256 << 20 // a decompressed payload larger than this is refused
)

// ErrVersion is wrapped by decoding errors for a message of another protocol version.
var ErrVersion = fmt.Errorf("protocol version mismatch")

// encode makes a NATS message of v, stamped with Protocol.
func encode(subject string, v versioned) (*nats.Msg, error) {
	v.header().Protocol = Protocol
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	msg := nats.NewMsg(subject)
	if len(data) > gzipAbove {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(data); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		data = buf.Bytes()
		msg.Header.Set(encodingHeader, "gzip")
	}
	msg.Data = data
	return msg, nil
}

// decode reads a message into v. A message of another protocol version is an error wrapping
// ErrVersion that names both versions; malformed data is an error naming the subject.
func decode(msg *nats.Msg, v versioned) error {
	data := msg.Data
	if msg.Header.Get(encodingHeader) == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("message on %s: bad compressed payload: %w", msg.Subject, err)
		}
		data, err = io.ReadAll(io.LimitReader(zr, maxDecoded+1))
		if err != nil {
			return fmt.Errorf("message on %s: bad compressed payload: %w", msg.Subject, err)
		}
		if len(data) > maxDecoded {
			return fmt.Errorf("message on %s: payload larger than %d MiB", msg.Subject, maxDecoded>>20)
		}
	}
	var head Message
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("message on %s is not a colt message: %w", msg.Subject, err)
	}
	if head.Protocol != Protocol {
		return fmt.Errorf("%w: the peer speaks colt protocol %d, this colt speaks %d: run the same colt version on both sides", ErrVersion, head.Protocol, Protocol)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("message on %s: %w", msg.Subject, err)
	}
	return nil
}

// WireResult is a measurement as it travels: backend.Result with its floats made finite (JSON
// has no NaN or infinity; the measuring side treats the replacements as it treats the
// originals) and without the kernel source, which the server can make itself.
type WireResult struct {
	Status     backend.Status `json:"status"`
	Message    string         `json:"message,omitempty"`
	LatenciesS []float64      `json:"latencies_s,omitempty"`
	MedianS    float64        `json:"median_s,omitempty"`
	MinS       float64        `json:"min_s,omitempty"`
	MaxS       float64        `json:"max_s,omitempty"`
	Number     int            `json:"number,omitempty"`
	MaxRelErr  float64        `json:"max_rel_err,omitempty"`
	WorstIndex string         `json:"worst_index,omitempty"`
	BuildS     float64        `json:"build_s,omitempty"`
	RunS       float64        `json:"run_s,omitempty"`
}

// toWire converts a result for sending.
func toWire(r backend.Result) WireResult {
	w := WireResult{Status: r.Status, Message: r.Message, MedianS: finiteOr(r.MedianS, 0), MinS: finiteOr(r.MinS, 0),
		MaxS: finiteOr(r.MaxS, 0), Number: r.Number, MaxRelErr: finiteOr(r.MaxRelErr, -1), WorstIndex: r.WorstIndex,
		BuildS: finiteOr(r.BuildS, 0), RunS: finiteOr(r.RunS, 0)}
	for _, x := range r.LatenciesS {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			w.LatenciesS = append(w.LatenciesS, x)
		}
	}
	return w
}

// result converts a received result back.
func (w WireResult) result() backend.Result {
	return backend.Result{Status: w.Status, Message: w.Message, LatenciesS: w.LatenciesS, MedianS: w.MedianS, MinS: w.MinS,
		MaxS: w.MaxS, Number: w.Number, MaxRelErr: w.MaxRelErr, WorstIndex: w.WorstIndex, BuildS: w.BuildS, RunS: w.RunS}
}

func finiteOr(x, or float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return or
	}
	return x
}
