package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"colt/core"
)

// RequestTimeout bounds a request to the server (submitting a run opens its session: the
// backend, the records, the cost model).
const RequestTimeout = 60 * time.Second

// Client talks to a colt server: submit runs, list them, steer them, read their progress
// lines, attach a console.
type Client struct {
	nc *nats.Conn
}

// Dial connects to a colt server.
func Dial(opt ConnectOptions) (*Client, error) {
	if opt.Name == "" {
		opt.Name = "colt client"
	}
	nc, err := Connect(opt)
	if err != nil {
		return nil, err
	}
	return &Client{nc: nc}, nil
}

// Conn is the client's NATS connection (a worker pulls jobs over it).
func (c *Client) Conn() *nats.Conn { return c.nc }

// Close closes the connection.
func (c *Client) Close() { c.nc.Close() }

// Submit starts a run on the server.
func (c *Client) Submit(spec RunSpec) (RunInfo, error) {
	var reply SubmitReply
	err := request(c.nc, SubjectSubmit, &SubmitRequest{Spec: spec}, &reply, RequestTimeout)
	return reply.Run, err
}

// List returns the server's runs and workers.
func (c *Client) List() (ListReply, error) {
	var reply ListReply
	err := request(c.nc, SubjectList, &ListRequest{}, &reply, RequestTimeout)
	return reply, err
}

// Run returns one run's description, or an error naming the runs there are.
func (c *Client) Run(id string) (RunInfo, error) {
	l, err := c.List()
	if err != nil {
		return RunInfo{}, err
	}
	for _, r := range l.Runs {
		if r.ID == id {
			return r, nil
		}
	}
	return RunInfo{}, fmt.Errorf("no run %q on this server (colt ps lists them)", id)
}

// Latest is the newest run still going (or, when none is, the newest run).
func (c *Client) Latest() (RunInfo, error) {
	l, err := c.List()
	if err != nil {
		return RunInfo{}, err
	}
	if len(l.Runs) == 0 {
		return RunInfo{}, errors.New("the server has no runs (start one with colt tune --detach)")
	}
	for i := len(l.Runs) - 1; i >= 0; i-- {
		if !l.Runs[i].State.Ended() {
			return l.Runs[i], nil
		}
	}
	return l.Runs[len(l.Runs)-1], nil
}

// Command sends an operator command to a run and returns its outcome.
func (c *Client) Command(run string, cmd core.Command) error {
	var reply CommandReply
	return request(c.nc, runSubject(run, "command"), &CommandRequest{Kind: cmd.Kind, Model: cmd.Model, Node: cmd.Node}, &reply, RequestTimeout)
}

// Logs writes a run's progress lines, from the first, to line; with follow it goes on until
// the run ends (or ctx does).
func (c *Client) Logs(ctx context.Context, run string, follow bool, line func(string)) error {
	if _, err := c.Run(run); err != nil {
		return err
	}
	js, err := jetstream.New(c.nc)
	if err != nil {
		return err
	}
	cons, err := js.OrderedConsumer(ctx, StreamLogs, jetstream.OrderedConsumerConfig{FilterSubjects: []string{SubjectLogs + "." + run}})
	if err != nil {
		return fmt.Errorf("progress lines of run %s: %w", run, err)
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(256, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			return fmt.Errorf("progress lines of run %s: %w", run, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var lm LogMessage
			if err := decode(natsMsg(m), &lm); err != nil {
				return err
			}
			line(lm.Line)
			if lm.End {
				return nil
			}
		}
		if n == 0 && !follow {
			return nil
		}
	}
	return nil
}

// Attached is a console's view of a server's run: it is what the console drives (tui.Source),
// with events rebuilt from the server's messages and commands sent as requests. Its Run ends
// when the run does, or, when the console detaches, when its context does: the search goes
// on in the server.
type Attached struct {
	c       *Client
	info    RunInfo
	console string
	cmds    chan core.Command
	sub     *nats.Subscription
	msgs    chan *nats.Msg
	state   *AttachReply
}

// Attach attaches to a run: it subscribes to the run's events, then fetches its whole state,
// so nothing published in between is missed.
func (c *Client) Attach(run string) (*Attached, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	a := &Attached{c: c, console: hex.EncodeToString(b), cmds: make(chan core.Command, 16), msgs: make(chan *nats.Msg, 4096)}
	var err error
	if a.sub, err = c.nc.ChanSubscribe(runSubject(run, "events"), a.msgs); err != nil {
		return nil, err
	}
	if a.state, err = a.fetch(run); err != nil {
		_ = a.sub.Unsubscribe()
		return nil, err
	}
	a.info = a.state.Run
	if a.state.Event == nil && a.info.State.Ended() {
		_ = a.sub.Unsubscribe()
		return nil, fmt.Errorf("run %s has ended (%s) under an earlier server; its records are in the work dir (colt export --workload %s)", run, a.info.State, a.info.Workload)
	}
	return a, nil
}

func (a *Attached) fetch(run string) (*AttachReply, error) {
	var reply AttachReply
	if err := request(a.c.nc, runSubject(run, "attach"), &AttachRequest{Console: a.console}, &reply, RequestTimeout); err != nil {
		return nil, err
	}
	return &reply, nil
}

// Info describes the run as it was when the console attached.
func (a *Attached) Info() RunInfo { return a.info }

// Remote names what the console is attached to.
func (a *Attached) Remote() string { return "run " + a.info.ID + " of colt serve" }

// Tasks are the run's tasks.
func (a *Attached) Tasks() []core.TaskRef { return a.info.Tasks }

// Commands is where the console's operator commands go; each is sent to the server and its
// outcome given to the command's Done.
func (a *Attached) Commands() chan<- core.Command { return a.cmds }

// Run delivers the run's events to onEvent (the first carries the whole state) until the run
// ends, returning its report and error, or until ctx ends: the console detaches and Run
// returns nil, nil.
func (a *Attached) Run(ctx context.Context, onEvent func(core.Event)) (*core.SessionReport, error) {
	defer func() { _ = a.sub.Unsubscribe() }()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.forwardCommands(ctx)
	go a.heartbeat(ctx)
	h := historyMerger{}
	if ev := a.state.Event; ev != nil {
		h.reset(ev)
		onEvent(h.event(ev))
	}
	for {
		select {
		case <-ctx.Done():
			return nil, nil
		case m := <-a.msgs:
			var ev EventMessage
			if err := decode(m, &ev); err != nil {
				return nil, fmt.Errorf("run %s: %w", a.info.ID, err)
			}
			if ev.Ended {
				var err error
				if ev.RunError != "" {
					err = errors.New(ev.RunError)
				}
				return ev.Report, err
			}
			if !h.apply(&ev) {
				st, err := a.fetch(a.info.ID)
				if err != nil {
					return nil, err
				}
				if st.Event == nil {
					continue
				}
				h.reset(st.Event)
				ev = *st.Event
			}
			onEvent(h.event(&ev))
		}
	}
}

// forwardCommands sends the console's commands to the server.
func (a *Attached) forwardCommands(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case cmd := <-a.cmds:
			err := a.c.Command(a.info.ID, cmd)
			if cmd.Done != nil {
				select {
				case cmd.Done <- err:
				default:
				}
			}
		}
	}
}

// heartbeat tells the server the console is attached, and that it leaves when ctx ends.
func (a *Attached) heartbeat(ctx context.Context) {
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()
	subject := runSubject(a.info.ID, "console")
	for {
		select {
		case <-ctx.Done():
			if msg, err := encode(subject, &ConsoleBeat{Console: a.console, Leaving: true}); err == nil {
				_ = a.c.nc.PublishMsg(msg)
				_ = a.c.nc.Flush()
			}
			return
		case <-t.C:
			if msg, err := encode(subject, &ConsoleBeat{Console: a.console}); err == nil {
				_ = a.c.nc.PublishMsg(msg)
			}
		}
	}
}

// historyMerger rebuilds each event's whole history from the deltas of the event messages.
type historyMerger struct {
	task string
	hist []core.HistoryEntry
}

// reset takes a full state (HistoryFrom 0).
func (h *historyMerger) reset(ev *EventMessage) {
	h.task = ev.Event.Workload
	h.hist = append([]core.HistoryEntry(nil), ev.Event.History...)
}

// apply merges a delta; false means entries are missing (ask for the state again).
func (h *historyMerger) apply(ev *EventMessage) bool {
	from, delta := ev.HistoryFrom, ev.Event.History
	switch {
	case ev.Event.Workload != h.task && from != 0:
		return false
	case ev.Event.Workload != h.task:
		h.task, h.hist = ev.Event.Workload, append([]core.HistoryEntry(nil), delta...)
	case from == len(h.hist):
		h.hist = append(h.hist, delta...) // earlier events keep their shorter view
	case from < len(h.hist):
		merged := make([]core.HistoryEntry, 0, from+len(delta))
		h.hist = append(append(merged, h.hist[:from]...), delta...)
	default:
		return false
	}
	return true
}

// event is the message's event with the whole history.
func (h *historyMerger) event(ev *EventMessage) core.Event {
	e := ev.Event
	e.History = h.hist[:len(h.hist):len(h.hist)]
	return e
}
