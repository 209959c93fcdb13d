// Package faultproxy is a TCP proxy for tests that puts network faults
// between a client and a server on loopback: it resets connections, stalls
// them, and cuts them mid-stream after a number of bytes, on the connections
// a test schedules, and counts the faults that struck.
//
// It knows nothing of HTTP: a fault is placed by counting the bytes that
// went one way (Upstream: the client's requests, Downstream: the server's
// responses). A client that wants "the next connection" to be "the next
// request" turns keep-alives off. Only tests use it; it does not import
// testing.
package faultproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Direction is the way bytes go through a connection.
type Direction int

const (
	// Upstream is client to server: requests and request bodies.
	Upstream Direction = iota
	// Downstream is server to client: responses and response bodies.
	Downstream
)

func (d Direction) String() string {
	if d == Upstream {
		return "upstream"
	}
	return "downstream"
}

// Action is what a Fault does to its connection.
type Action int

const (
	// Reset aborts both sides of the connection with a TCP RST
	// (SO_LINGER 0, then close): the peers see "connection reset".
	Reset Action = iota + 1
	// Cut closes both sides of the connection normally (FIN): to the
	// client the stream just ends, as when a server dies mid-response. (A
	// side whose bytes the proxy has not read yet gets an RST instead: the
	// kernel's rule for closing with unread data.)
	Cut
	// Stall stops forwarding in the fault's direction for Fault.Stall,
	// then goes on; the other direction keeps flowing.
	Stall
)

func (a Action) String() string {
	switch a {
	case Reset:
		return "reset"
	case Cut:
		return "cut"
	case Stall:
		return "stall"
	}
	return "none"
}

// Fault is one fault on one connection: Action strikes once After bytes
// have been forwarded in direction Dir (0: before the first byte). A
// connection that closes before then is left alone, and the fault is not
// counted. The zero Fault does nothing: scheduled before others, it lets a
// connection through untouched.
type Fault struct {
	Action Action
	Dir    Direction
	After  int64
	// Stall is how long a Stall lasts; the connection closing (its other
	// direction failing, say) or Close ends it early.
	Stall time.Duration
}

// Stats are the proxy's counters since New.
type Stats struct {
	Conns  int64 // connections accepted
	Resets int64 // Reset faults that struck
	Cuts   int64 // Cut faults that struck
	Stalls int64 // Stall faults that struck
	Up     int64 // bytes forwarded client to server
	Down   int64 // bytes forwarded server to client
}

// Faults is the number of faults that struck, of every action.
func (s Stats) Faults() int64 { return s.Resets + s.Cuts + s.Stalls }

// Sub returns the counters gained since an earlier snapshot.
func (s Stats) Sub(old Stats) Stats {
	return Stats{
		Conns: s.Conns - old.Conns, Resets: s.Resets - old.Resets, Cuts: s.Cuts - old.Cuts,
		Stalls: s.Stalls - old.Stalls, Up: s.Up - old.Up, Down: s.Down - old.Down,
	}
}

// Proxy forwards the connections it accepts on 127.0.0.1 to its target,
// applying the scheduled faults. Its methods are safe for concurrent use.
type Proxy struct {
	target string
	ln     net.Listener
	ctx    context.Context // done at Close: ends dials and stalls
	stop   context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	queue  []Fault               // faults for the next connections, in order
	active map[*net.TCPConn]bool // both sides of every open connection
	closed bool

	conns, resets, cuts, stalls, up, down atomic.Int64
}

// dialTimeout bounds the connection to the target.
const dialTimeout = 5 * time.Second

// New starts a proxy on a free 127.0.0.1 port that forwards to target
// (host:port). Close stops it.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	p := &Proxy{target: target, ln: ln, ctx: ctx, stop: stop, active: map[*net.TCPConn]bool{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr returns the proxy's host:port, where clients connect instead of the
// target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Inject schedules f on each of the next n connections the proxy accepts,
// after any faults scheduled before. A connection carries at most one fault.
func (p *Proxy) Inject(n int, f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range n {
		p.queue = append(p.queue, f)
	}
}

// Pending returns how many scheduled faults no connection has taken yet.
func (p *Proxy) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue)
}

// Clear drops the scheduled faults that no connection has taken yet.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue = nil
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	return Stats{
		Conns: p.conns.Load(), Resets: p.resets.Load(), Cuts: p.cuts.Load(),
		Stalls: p.stalls.Load(), Up: p.up.Load(), Down: p.down.Load(),
	}
}

// Close stops accepting, ends stalls, closes every open connection and
// waits for the proxy's goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.stop()
	for c := range p.active {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.conns.Add(1)
		p.wg.Add(1)
		go p.handle(c.(*net.TCPConn))
	}
}

// take returns the fault of a new connection, if one is scheduled.
func (p *Proxy) take() *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		return nil
	}
	f := p.queue[0]
	p.queue = p.queue[1:]
	if f.Action == 0 {
		return nil
	}
	return &f
}

// track records c as open, or reports false once the proxy is closed.
func (p *Proxy) track(cs ...*net.TCPConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range cs {
		p.active[c] = true
	}
	return true
}

func (p *Proxy) untrack(cs ...*net.TCPConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.active, c)
	}
}

// pair is one proxied connection: the client's side and the target's.
type pair struct {
	client, server *net.TCPConn
	once           sync.Once
	dead           chan struct{} // closed by abort: ends a stall
}

// abort closes both sides, with an RST when rst is set.
func (c *pair) abort(rst bool) {
	c.once.Do(func() {
		if rst {
			_ = c.client.SetLinger(0)
			_ = c.server.SetLinger(0)
		}
		c.client.Close()
		c.server.Close()
		close(c.dead)
	})
}

func (p *Proxy) handle(client *net.TCPConn) {
	defer p.wg.Done()
	f := p.take()
	d := net.Dialer{Timeout: dialTimeout}
	sc, err := d.DialContext(p.ctx, "tcp", p.target)
	if err != nil {
		// The target is down: the client sees the connection reset.
		_ = client.SetLinger(0)
		client.Close()
		return
	}
	server := sc.(*net.TCPConn)
	if !p.track(client, server) {
		client.Close()
		server.Close()
		return
	}
	defer p.untrack(client, server)
	c := &pair{client: client, server: server, dead: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pump(c, server, client, Upstream, &p.up, f) }()
	go func() { defer wg.Done(); p.pump(c, client, server, Downstream, &p.down, f) }()
	wg.Wait()
	c.abort(false)
}

// pump copies src to dst in direction dir, applying f when it is this
// direction's. When src ends it half-closes dst, so the peer sees the end
// while the other direction goes on; any other end closes both sides.
func (p *Proxy) pump(c *pair, dst, src *net.TCPConn, dir Direction, n *atomic.Int64, f *Fault) {
	w := &counter{w: dst, n: n}
	if f != nil && f.Dir == dir {
		if _, err := io.CopyN(w, src, f.After); err != nil {
			p.end(c, dst, err)
			return
		}
		switch f.Action {
		case Reset:
			p.resets.Add(1)
			c.abort(true)
			return
		case Cut:
			p.cuts.Add(1)
			c.abort(false)
			return
		case Stall:
			p.stalls.Add(1)
			t := time.NewTimer(f.Stall)
			select {
			case <-t.C:
			case <-c.dead: // the other side went away
				t.Stop()
				return
			case <-p.ctx.Done():
				t.Stop()
				c.abort(false)
				return
			}
		}
	}
	_, err := io.Copy(w, src)
	p.end(c, dst, err)
}

// end finishes a direction: a clean end of src half-closes dst, an error
// (a reset, a closed connection) closes both sides.
func (p *Proxy) end(c *pair, dst *net.TCPConn, err error) {
	if err == nil || errors.Is(err, io.EOF) {
		_ = dst.CloseWrite()
		return
	}
	c.abort(false)
}

// counter counts the bytes written through it.
type counter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *counter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}
