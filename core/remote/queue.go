package remote

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"colt/backend"
	"colt/core"
)

// queue is the server's core.Dispatcher: it puts a run's candidates on the JetStream work
// queue of the server's target and waits for the workers' results. A job's ID is its run and
// candidate, so a result handed in twice (a worker died after handing it in, the job went to
// another) is recorded once.
type queue struct {
	s *Server

	mu      sync.Mutex
	pending map[string]chan backend.Result // job ID → where its result goes
	done    map[string]bool                // job IDs whose result is in
}

func newQueue(s *Server) (*queue, error) {
	return &queue{s: s, pending: map[string]chan backend.Result{}, done: map[string]bool{}}, nil
}

// jobID names a job: its run and candidate.
func jobID(j core.MeasureJob) string { return j.Run + "/" + j.CandidateHash }

// Measure queues the jobs and waits until every result is in.
func (q *queue) Measure(ctx context.Context, jobs []core.MeasureJob) ([]backend.Result, error) {
	chans := make([]chan backend.Result, len(jobs))
	q.mu.Lock()
	for i, j := range jobs {
		id := jobID(j)
		if q.pending[id] == nil {
			q.pending[id] = make(chan backend.Result, 1)
		}
		chans[i] = q.pending[id]
		delete(q.done, id)
	}
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		for _, j := range jobs {
			delete(q.pending, jobID(j))
		}
		q.mu.Unlock()
	}()
	subject := SubjectJobs + "." + TargetID(q.s.target)
	for _, j := range jobs {
		if j.Target != q.s.target {
			return nil, fmt.Errorf("job for target %q on a server of target %q", j.Target, q.s.target)
		}
		msg, err := encode(subject, &JobMessage{ID: jobID(j), Job: j})
		if err != nil {
			return nil, err
		}
		msg.Header.Set(jetstream.MsgIDHeader, jobID(j))
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = q.s.js.PublishMsg(pctx, msg)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("queue candidate %s: %w", j.CandidateHash, err)
		}
	}
	out := make([]backend.Result, len(jobs))
	for i := range jobs {
		select {
		case out[i] = <-chans[i]:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// onResult takes a worker's result to the run waiting for it.
func (q *queue) onResult(m *nats.Msg) {
	var res JobResult
	if err := decode(m, &res); err != nil {
		refuse(m, "%v", err)
		return
	}
	q.mu.Lock()
	ch, waiting := q.pending[res.ID]
	duplicate := q.done[res.ID]
	if waiting && !duplicate {
		q.done[res.ID] = true
		ch <- res.Result.result()
	}
	q.mu.Unlock()
	if waiting && !duplicate {
		q.s.countResult(res.Worker, res.Result.Status == backend.StatusOK)
	}
	// A result no run waits for (its run ended, or the server restarted) is dropped: the
	// worker acknowledges it all the same.
	respond(m, &ResultReply{Duplicate: duplicate || !waiting})
}
