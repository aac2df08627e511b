package remote

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"colt/backend"
	"colt/core"
)

// WorkerOptions configure a measurement worker.
type WorkerOptions struct {
	// Conn is the connection to the server's NATS.
	Conn *nats.Conn
	// Measurer builds, runs, checks and times the jobs on this machine.
	Measurer *core.JobMeasurer
	// ID names the worker (unique among the server's workers); Host is its machine.
	ID, Host string
	// Local marks the server's own worker.
	Local bool
	// Batch is how many jobs the worker takes at once: they are built in parallel, then
	// timed one by one (0: 1).
	Batch int
	// Logf receives the worker's log lines (nil: discarded).
	Logf func(format string, args ...any)
}

// ErrWrongTarget is wrapped by RunWorker's error when the server tunes for another target.
var ErrWrongTarget = errors.New("worker of another target")

// RunWorker introduces the worker to the server, then pulls jobs for its target from the work
// queue until ctx ends: each batch is built in parallel and timed one job at a time, each
// result handed to the server, and the job acknowledged once the server has it. While it works
// the worker tells JetStream it is alive, so only a worker that dies (or hangs) loses its jobs
// to another after the ack wait. Worker state is published every HeartbeatEvery.
func RunWorker(ctx context.Context, opt WorkerOptions) error {
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	if opt.Batch < 1 {
		opt.Batch = 1
	}
	w := &worker{opt: opt, info: WorkerInfo{ID: opt.ID, Host: opt.Host, Target: opt.Measurer.Target(), Local: opt.Local}}
	var hello HelloReply
	if err := request(opt.Conn, SubjectHello, &Hello{Worker: w.info}, &hello, 10*time.Second); err != nil {
		if hello.Target != "" && hello.Target != w.info.Target {
			return fmt.Errorf("%w: %v", ErrWrongTarget, err)
		}
		return fmt.Errorf("register with the server: %w", err)
	}
	w.ackWait = time.Duration(hello.AckWaitS * float64(time.Second))
	js, err := jetstream.New(opt.Conn)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	cons, err := js.Consumer(cctx, StreamJobs, consumerName(TargetID(w.info.Target)))
	cancel()
	if err != nil {
		return fmt.Errorf("the server's work queue for this target: %w", err)
	}
	var beats sync.WaitGroup
	beatCtx, stopBeats := context.WithCancel(ctx)
	beats.Go(func() { w.heartbeat(beatCtx) })
	defer func() {
		stopBeats()
		beats.Wait()
	}()
	for ctx.Err() == nil {
		msgs, err := take(cons, opt.Batch)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			opt.Logf("worker %s: fetch: %v", opt.ID, err)
			sleep(ctx, time.Second)
			continue
		}
		if len(msgs) > 0 {
			w.work(ctx, msgs)
		}
	}
	return nil
}

// take waits up to a second for a job, then takes up to n-1 more of those already queued,
// without waiting for them: a worker never idles while jobs wait.
func take(cons jetstream.Consumer, n int) ([]jetstream.Msg, error) {
	first, err := cons.Next(jetstream.FetchMaxWait(time.Second))
	if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	msgs := []jetstream.Msg{first}
	if n > 1 {
		more, err := cons.FetchNoWait(n - 1)
		if err != nil {
			return msgs, nil
		}
		for m := range more.Messages() {
			msgs = append(msgs, m)
		}
	}
	return msgs, nil
}

// worker is RunWorker's state.
type worker struct {
	opt     WorkerOptions
	ackWait time.Duration

	mu   sync.Mutex
	info WorkerInfo
}

// work measures a batch of jobs and hands their results in.
func (w *worker) work(ctx context.Context, msgs []jetstream.Msg) {
	w.setBusy(true)
	defer w.setBusy(false)
	var jobs []core.MeasureJob
	var held []jetstream.Msg
	var ids []string
	for _, m := range msgs {
		var jm JobMessage
		if err := decode(natsMsg(m), &jm); err != nil {
			w.opt.Logf("worker %s: dropping a job that cannot be read: %v", w.opt.ID, err)
			_ = m.Term()
			continue
		}
		jobs, held, ids = append(jobs, jm.Job), append(held, m), append(ids, jm.ID)
	}
	if len(jobs) == 0 {
		return
	}
	// Tell JetStream the jobs are being worked on, every third of the ack wait.
	alive, stop := context.WithCancel(ctx)
	var keep sync.WaitGroup
	keep.Go(func() {
		t := time.NewTicker(max(w.ackWait/3, 100*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-alive.Done():
				return
			case <-t.C:
				for _, m := range held {
					_ = m.InProgress()
				}
			}
		}
	})
	results := w.opt.Measurer.Measure(ctx, jobs)
	stop()
	keep.Wait()
	if ctx.Err() != nil {
		return // unacknowledged: the jobs go to another worker
	}
	for i, m := range held {
		w.handIn(ctx, ids[i], results[i], m)
	}
}

// handIn gives a result to the server and acknowledges the job once the server has it. When
// the server cannot be reached the job is left unacknowledged, to be measured again.
func (w *worker) handIn(ctx context.Context, id string, res backend.Result, m jetstream.Msg) {
	var reply ResultReply
	err := request(w.opt.Conn, SubjectResults, &JobResult{ID: id, Worker: w.opt.ID, Result: toWire(res)}, &reply, 30*time.Second)
	if err != nil {
		w.opt.Logf("worker %s: hand in %s: %v (the job will be measured again)", w.opt.ID, id, err)
		_ = m.Nak()
		return
	}
	if err := m.Ack(); err != nil && ctx.Err() == nil {
		w.opt.Logf("worker %s: acknowledge %s: %v", w.opt.ID, id, err)
	}
	w.mu.Lock()
	w.info.Jobs++
	if res.Status != backend.StatusOK {
		w.info.Failures++
	}
	w.mu.Unlock()
}

func (w *worker) setBusy(b bool) {
	w.mu.Lock()
	w.info.Busy = b
	w.mu.Unlock()
	w.beat()
}

// heartbeat publishes the worker's state until ctx ends.
func (w *worker) heartbeat(ctx context.Context) {
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()
	for {
		w.beat()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *worker) beat() {
	w.mu.Lock()
	info := w.info
	w.mu.Unlock()
	if msg, err := encode(SubjectWorkers, &WorkerBeat{Worker: info}); err == nil {
		_ = w.opt.Conn.PublishMsg(msg)
	}
}

// natsMsg views a JetStream message as a NATS message for decode.
func natsMsg(m jetstream.Msg) *nats.Msg {
	return &nats.Msg{Subject: m.Subject(), Data: m.Data(), Header: m.Headers()}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
