package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kefu-desk/kefu/internal/chat/chatclient"
)

// The chat scenario signs in agents whose consoles hold their live
// streams, brings visitors in through the widget's API (each from an
// address of its own, 127.x.y.z, as real visitors are), has the agents
// accept the chats, then lets visitors write and agents answer for a
// while, timing every message from the POST that sends it to the stream
// that delivers it. It reports the latencies, the server's memory per
// idle stream and its CPU.

func chatMain(args []string) {
	var c chatConfig
	fs := flag.NewFlagSet("chat", flag.ExitOnError)
	fs.StringVar(&c.kefu, "kefu", "", "the kefu binary to run (go build -o /tmp/kefu ./cmd/kefu)")
	fs.StringVar(&c.db, "db", "", dbUsage)
	fs.IntVar(&c.visitors, "visitors", 1000, "concurrent chat visitors")
	fs.IntVar(&c.agents, "agents", 50, "agent consoles")
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "how long visitors and agents talk once everyone is in")
	fs.DurationVar(&c.think, "think", 30*time.Second, "mean time between one visitor's messages")
	fs.DurationVar(&c.replyAfter, "reply-after", 2*time.Second, "how soon an agent answers each message")
	fs.DurationVar(&c.settle, "settle", 5*time.Second, "idle time before each memory reading")
	fs.Parse(args)
	if c.kefu == "" {
		fail(2, "-kefu is required (go build -o /tmp/kefu ./cmd/kefu)")
	}
	if err := runChat(c); err != nil {
		fail(1, err.Error())
	}
}

type chatConfig struct {
	kefu, db                            string
	visitors, agents                    int
	duration, think, replyAfter, settle time.Duration
}

// timing times messages of one kind: from the POST that sends each to
// the stream that shows it (total), and how long after the POST's answer
// the stream showed it (after: Kefu's fan-out, zero when the stream was
// first).
type timing struct {
	mu           sync.Mutex
	m            map[string]*flight
	total, after lat
}

type flight struct{ start, end, seen time.Time }

func newTiming() *timing { return &timing{m: map[string]*flight{}} }

func (t *timing) sent(k string, start time.Time) {
	t.mu.Lock()
	t.m[k] = &flight{start: start}
	t.mu.Unlock()
}

func (t *timing) answered(k string, end time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.m[k]
	switch {
	case f == nil:
	case !f.seen.IsZero():
		t.after.add(0)
		delete(t.m, k)
	default:
		f.end = end
	}
}

func (t *timing) failed(k string) {
	t.mu.Lock()
	delete(t.m, k)
	t.mu.Unlock()
}

func (t *timing) seen(k string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.m[k]
	if f == nil || !f.seen.IsZero() {
		return
	}
	t.total.add(at.Sub(f.start))
	if f.end.IsZero() {
		f.seen = at
		return
	}
	t.after.add(max(0, at.Sub(f.end)))
	delete(t.m, k)
}

// lost counts messages answered but never shown.
func (t *timing) lost() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, f := range t.m {
		if f.seen.IsZero() && !f.end.IsZero() {
			n++
		}
	}
	return n
}

type visitor struct {
	n        int
	c        *chatclient.Visitor
	key      string
	ticketID string
	agent    *agent
	sent     atomic.Int64
}

type agent struct {
	n     int
	c     *chatclient.Agent
	chats []*visitor
	page  *visitor // the chat whose page this console has open
}

var tokenRE = regexp.MustCompile(`\[(m|r)(\d+)-(\d+)\]`)

func runChat(c chatConfig) error {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	fmt.Printf("kefu-load chat: %d visitors, %d agents, %s talking (a message per visitor every ~%s, answered after %s)\n",
		c.visitors, c.agents, c.duration, c.think, c.replyAfter)
	fmt.Printf("machine: %d CPUs, load average %s\n", runtime.NumCPU(), loadavg())

	logf("creating %d agents and an admin", c.agents)
	users := make([]user, c.agents+1)
	for i := range c.agents {
		users[i] = user{email: fmt.Sprintf("agent%d@load.example", i), name: fmt.Sprintf("Agent %d", i), role: "agent"}
	}
	users[c.agents] = user{email: "admin@load.example", name: "Admin", role: "admin"}
	srv, err := startKefu(ctx, c.kefu, c.db, users)
	if err != nil {
		return err
	}
	defer srv.stop()
	base, pid := srv.base, srv.pid()

	admin, err := chatclient.SignIn(ctx, base, "admin@load.example", password)
	if err != nil {
		return err
	}
	// Chat whenever an agent is online, whatever the time of day.
	if err := admin.Post(ctx, "/admin/chat", url.Values{"enabled": {"on"}, "hours": {"always"}}); err != nil {
		return fmt.Errorf("chat settings: %w", err)
	}

	logf("signing in %d agents; each console opens its live stream", c.agents)
	agents := make([]*agent, c.agents)
	notices, pages, replies := newTiming(), newTiming(), newTiming()
	var postVisitor, postAgent lat
	var errs atomic.Int64
	byTicket := sync.Map{} // ticket id → *visitor
	for i := range agents {
		a, err := chatclient.SignIn(ctx, base, fmt.Sprintf("agent%d@load.example", i), password)
		if err != nil {
			return err
		}
		agents[i] = &agent{n: i, c: a}
		st, err := a.Stream(ctx, "", 0)
		if err != nil {
			return err
		}
		go func() {
			for e := range st.Events {
				if id, ok := strings.CutPrefix(e.Data, "message:"); ok && e.Name == "chats" {
					now := time.Now()
					if v, ok := byTicket.Load(id); ok && v.(*visitor).agent.n == i {
						// The console of the chat's agent heard of the message.
						notices.seen(id, now)
					}
				}
			}
		}()
	}

	logf("%d visitors open chats from their own addresses; agents accept them", c.visitors)
	visitors := make([]*visitor, c.visitors)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	started := time.Now()
	for i := range visitors {
		v := &visitor{n: i, agent: agents[i%len(agents)]}
		v.c = &chatclient.Visitor{Base: base, Origin: "https://shop.load.example", HTTP: chatclient.Client(visitorIP(i))}
		visitors[i] = v
		v.agent.chats = append(v.agent.chats, v)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := v.c.Session(ctx, "zh-CN"); err != nil {
				errs.Add(1)
				logf("visitor %d: session: %v", v.n, err)
				return
			}
			sent, err := v.c.Send(ctx, fmt.Sprintf("你好，我想问一下订单 %d 的物流。", v.n),
				&chatclient.Prechat{Name: fmt.Sprintf("访客 %d", v.n), Email: fmt.Sprintf("visitor%d@load.example", v.n)})
			if err != nil {
				errs.Add(1)
				logf("visitor %d: first message: %v", v.n, err)
				return
			}
			v.key = sent.Conversation.TicketKey
			if err := v.agent.c.Accept(ctx, v.key); err != nil {
				errs.Add(1)
				logf("agent %d: accept %s: %v", v.agent.n, v.key, err)
			}
		}()
	}
	wg.Wait()
	logf("%d chats open and accepted in %s", c.visitors, time.Since(started).Round(time.Millisecond))
	// Each agent's sidebar lists its chats with their ticket ids: that
	// maps the console's notices to visitors.
	idRE := regexp.MustCompile(`href="/t/(KF-\d+)"[^>]*data-chat-ticket="([0-9a-f-]{36})"`)
	for _, a := range agents {
		body, err := a.c.Get(ctx, "/chats/sidebar")
		if err != nil {
			return err
		}
		keys := map[string]string{}
		for _, m := range idRE.FindAllStringSubmatch(body, -1) {
			keys[m[1]] = m[2]
		}
		for _, v := range a.chats {
			if id, ok := keys[v.key]; ok {
				v.ticketID = id
				byTicket.Store(id, v)
			}
		}
	}

	time.Sleep(c.settle)
	rss0 := vmRSS(pid)
	logf("server RSS before the visitors' streams: %.1f MB", rss0)
	for _, v := range visitors {
		if v.key == "" {
			continue
		}
		st, err := v.c.Stream(ctx, 0)
		if err != nil {
			return fmt.Errorf("visitor %d stream: %w", v.n, err)
		}
		go watchChat(st, "r", replies)
	}
	for _, a := range agents {
		if len(a.chats) == 0 {
			continue
		}
		a.page = a.chats[0]
		st, err := a.c.Stream(ctx, a.page.key, 0)
		if err != nil {
			return err
		}
		go watchChat(st, "m", pages)
	}
	time.Sleep(c.settle)
	rss1 := vmRSS(pid)
	streams := c.visitors + 2*c.agents
	logf("server RSS with %d visitor streams open and idle: %.1f MB (%.1f KB per visitor stream)", c.visitors, rss1,
		(rss1-rss0)*1024/float64(c.visitors))

	logf("talking for %s", c.duration)
	cpu0, self0 := cpuTicks(pid), selfCPU()
	t0 := time.Now()
	talk, stopTalk := context.WithTimeout(ctx, c.duration)
	defer stopTalk()
	var sentN, repliedN atomic.Int64
	for _, v := range visitors {
		if v.key == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the first messages over one think time.
			next := time.Duration(rand.Int64N(int64(c.think)))
			for {
				select {
				case <-talk.Done():
					return
				case <-time.After(next):
				}
				next = c.think/2 + time.Duration(rand.Int64N(int64(c.think)))
				n := v.sent.Add(1)
				tok := fmt.Sprintf("[m%d-%d]", v.n, n)
				start := time.Now()
				notices.sent(v.ticketID, start)
				if v.agent.page == v {
					pages.sent(tok, start)
				}
				if _, err := v.c.Send(talk, "还没收到包裹，能帮我查一下吗？ "+tok, nil); err != nil {
					notices.failed(v.ticketID)
					pages.failed(tok)
					if talk.Err() == nil {
						errs.Add(1)
						logf("visitor %d: %v", v.n, err)
					}
					continue
				}
				end := time.Now()
				notices.answered(v.ticketID, end)
				pages.answered(tok, end)
				postVisitor.add(end.Sub(start))
				sentN.Add(1)
				// The agent answers after a moment.
				wg.Add(1)
				time.AfterFunc(c.replyAfter, func() {
					defer wg.Done()
					if talk.Err() != nil {
						return
					}
					rtok := fmt.Sprintf("[r%d-%d]", v.n, n)
					rstart := time.Now()
					replies.sent(rtok, rstart)
					if err := v.agent.c.Reply(talk, v.key, "正在为您查询，请稍候。 "+rtok); err != nil {
						replies.failed(rtok)
						if talk.Err() == nil {
							errs.Add(1)
							logf("agent %d: reply: %v", v.agent.n, err)
						}
						return
					}
					end := time.Now()
					replies.answered(rtok, end)
					postAgent.add(end.Sub(rstart))
					repliedN.Add(1)
				})
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	time.Sleep(time.Second) // the last deliveries
	cpu := cpuTicks(pid) - cpu0

	fmt.Printf("\nresults (%s talking; %d server streams open):\n", elapsed.Round(time.Second), streams)
	fmt.Printf("  visitor messages sent: %d (%.1f/s); agent replies sent: %d (%.1f/s); errors: %d\n",
		sentN.Load(), float64(sentN.Load())/elapsed.Seconds(), repliedN.Load(), float64(repliedN.Load())/elapsed.Seconds(), errs.Load())
	fmt.Println("  delivery, from the POST that sends to the stream that shows:")
	fmt.Println("    " + replies.total.report("agent reply → visitor's widget"))
	fmt.Println("    " + notices.total.report("visitor message → agent's console"))
	fmt.Println("    " + pages.total.report("visitor message → open chat page"))
	fmt.Println("  of which the POST itself (stored, committed, answered):")
	fmt.Println("    " + postVisitor.report("visitor POST /chat/v1/messages"))
	fmt.Println("    " + postAgent.report("agent POST /t/KEY/messages"))
	fmt.Println("  and the fan-out, from the POST's answer to the stream (0 when the stream was first):")
	fmt.Println("    " + replies.after.report("agent reply → visitor's widget"))
	fmt.Println("    " + notices.after.report("visitor message → agent's console"))
	fmt.Printf("  server RSS: %.1f MB before visitor streams, %.1f MB with %d idle, %.1f KB per idle visitor stream; %.1f MB after talking\n",
		rss0, rss1, c.visitors, (rss1-rss0)*1024/float64(c.visitors), vmRSS(pid))
	fmt.Printf("  server CPU while talking: %.1f s in %.0f s (%.0f%% of one core)\n", cpu.Seconds(), elapsed.Seconds(), 100*cpu.Seconds()/elapsed.Seconds())
	fmt.Printf("  this load generator's own CPU while talking: %.1f s\n", (selfCPU() - self0).Seconds())
	fmt.Printf("  load average after: %s\n", loadavg())
	if n := notices.lost() + replies.lost() + pages.lost(); n > 0 {
		fmt.Printf("  NOT DELIVERED within a second of the end: %d\n", n)
	}
	return nil
}

// watchChat times the messages of one kind ("m" a visitor's, "r" an
// agent's reply) that a chat stream shows.
func watchChat(st *chatclient.Stream, kind string, t *timing) {
	for e := range st.Events {
		if e.Name != "chat" {
			continue
		}
		now := time.Now()
		if m := tokenRE.FindStringSubmatch(e.Data); m != nil && m[1] == kind {
			t.seen(m[0], now)
		}
	}
}

// visitorIP gives visitor i an address of its own in 127.1.0.0/16.
func visitorIP(i int) string { return fmt.Sprintf("127.1.%d.%d", i/250, i%250+1) }
