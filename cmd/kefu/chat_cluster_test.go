package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/chat/chatclient"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
)

// buildKefu builds this binary once per test process.
func buildKefu(tb testing.TB) string {
	tb.Helper()
	builtOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kefu-bin-")
		if err != nil {
			builtErr = err
			return
		}
		built = filepath.Join(dir, "kefu")
		cmd := exec.Command("go", "build", "-o", built, ".")
		cmd.Stderr = os.Stderr
		builtErr = cmd.Run()
	})
	if builtErr != nil {
		tb.Fatalf("go build: %v", builtErr)
	}
	return built
}

var (
	builtOnce sync.Once
	built     string
	builtErr  error
)

// runKefu starts the binary with args; it is stopped as SIGTERM does
// when the test ends (or earlier, by stopKefu).
func runKefu(tb testing.TB, bin string, args ...string) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KEFU_DB=", "KEFU_LISTEN=", "KEFU_LOG_LEVEL=warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { stopKefu(cmd) })
	return cmd
}

func stopKefu(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return
	}
	cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// Two real Kefu processes on one PostgreSQL schema: a visitor chats
// through instance A while the agent's console is on instance B. Every
// message crosses through LISTEN/NOTIFY; when B goes away, both streams
// reconnect to A with the last number they saw and get exactly what was
// said meanwhile.
func TestChatAcrossInstances(t *testing.T) {
	databasetest.RequirePostgres(t)
	store := freshPostgresURL(t)
	bin := buildKefu(t)
	data := t.TempDir() // shared, as a network file system would be
	const email, password = "li.na@shop.example", "correct horse battery staple"
	create := exec.Command(bin, "user", "create", email, "--name", "李娜", "--role", "agent", "--password", "--db", store, "--data-dir", data)
	create.Env = append(os.Environ(), "KEFU_DB=")
	create.Stdin = strings.NewReader(password + "\n")
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("kefu user create: %v\n%s", err, out)
	}
	addrA, addrB := freeAddr(t), freeAddr(t)
	runKefu(t, bin, "serve", "--db", store, "--data-dir", data, "--listen", addrA)
	instB := runKefu(t, bin, "serve", "--db", store, "--data-dir", data, "--listen", addrB)
	a, b := "http://"+addrA, "http://"+addrB
	waitReady(t, a+"/readyz")
	waitReady(t, b+"/readyz")

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	agent, err := chatclient.SignIn(ctx, b, email, password)
	if err != nil {
		t.Fatal(err)
	}
	console, err := agent.Stream(ctx, "", 0) // the agent's console, on B
	if err != nil {
		t.Fatal(err)
	}
	visitor := &chatclient.Visitor{Base: a, Origin: "https://shop.example", HTTP: chatclient.Client("")}
	if err := visitor.Session(ctx, "en"); err != nil {
		t.Fatal(err)
	}
	sent, err := visitor.Send(ctx, "Is the linen dress in stock?", &chatclient.Prechat{Name: "Ann", Email: "ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if sent.Conversation.State != "queued" {
		t.Fatalf("the agent on B is online, yet the chat is %s", sent.Conversation.State)
	}
	key := sent.Conversation.TicketKey
	// B's console hears of the queued chat posted through A.
	waitFor(t, console, func(e chatclient.Event) bool { return e.Name == "chats" && strings.HasPrefix(e.Data, "queue:") })
	if err := agent.Accept(ctx, key); err != nil {
		t.Fatal(err)
	}

	pageCtx, dropPage := context.WithCancel(ctx)
	page, err := agent.Stream(pageCtx, key, 0) // the chat's page, on B
	if err != nil {
		t.Fatal(err)
	}
	visitor.Base = b // the visitor's stream lands on B too
	vsCtx, dropVisitor := context.WithCancel(ctx)
	defer dropVisitor()
	vs, err := visitor.Stream(vsCtx, 0)
	if err != nil {
		t.Fatal(err)
	}
	visitor.Base = a
	if got := chatEvents(t, vs.Events, 3); !slices.Equal(ids(got), []int64{1, 2, 3}) {
		t.Fatalf("the visitor's stream on B replayed %v", ids(got))
	}

	// A message posted on A reaches the agent's page on B.
	if _, err := visitor.Send(ctx, "Size S, please.", nil); err != nil {
		t.Fatal(err)
	}
	got := chatEvents(t, page.Events, 1)
	if got[0].ID != 4 || !strings.Contains(got[0].Data, "Size S, please.") {
		t.Fatalf("the agent on B got %+v", got)
	}
	// The agent answers through A (sessions live in the database) and the
	// visitor's stream on B has it.
	agent.Base = a
	if err := agent.Reply(ctx, key, "Yes, two left in S."); err != nil {
		t.Fatal(err)
	}
	if got := chatEvents(t, vs.Events, 2); got[0].ID != 4 || got[1].ID != 5 || !strings.Contains(got[1].Data, "two left in S") {
		t.Fatalf("the visitor on B got %v", got)
	}
	seenByPage := int64(4) // the page stream is dropped having shown 4

	// B goes away; meanwhile the chat goes on through A.
	dropPage()
	stopKefu(instB)
	for _, text := range []string{"Can you hold one?", "I'll order tonight."} {
		if _, err := visitor.Send(ctx, text, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := agent.Reply(ctx, key, "Held until midnight."); err != nil {
		t.Fatal(err)
	}

	// Both reconnect to A with the last number they saw.
	page, err = agent.Stream(ctx, key, seenByPage)
	if err != nil {
		t.Fatal(err)
	}
	resumed := chatEvents(t, page.Events, 4)
	if !slices.Equal(ids(resumed), []int64{5, 6, 7, 8}) {
		t.Fatalf("the agent's page resumed on A with %v; want 5 6 7 8", ids(resumed))
	}
	for i, want := range []string{"two left in S", "Can you hold one?", "I&#39;ll order tonight.", "Held until midnight."} {
		if !strings.Contains(resumed[i].Data, want) {
			t.Fatalf("event %d: %q lacks %q", resumed[i].ID, resumed[i].Data, want)
		}
	}
	vs2, err := visitor.Stream(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range chatEvents(t, vs2.Events, 3) {
		var ev struct {
			Message struct{ Text string }
		}
		json.Unmarshal([]byte(e.Data), &ev)
		texts = append(texts, ev.Message.Text)
	}
	if strings.Join(texts, "|") != "Can you hold one?|I'll order tonight.|Held until midnight." {
		t.Fatalf("the visitor resumed on A with %q", texts)
	}
	// And nothing else comes: not a repeat, not a gap filler.
	select {
	case e := <-vs2.Events:
		if e.Name == "chat" {
			t.Fatalf("an extra event after the missed ones: %+v", e)
		}
	case <-time.After(500 * time.Millisecond):
	}
}

// chatEvents reads the next n "chat" events of a stream.
func chatEvents(t *testing.T, c <-chan chatclient.Event, n int) []chatclient.Event {
	t.Helper()
	var out []chatclient.Event
	timeout := time.After(15 * time.Second)
	for len(out) < n {
		select {
		case e, ok := <-c:
			if !ok {
				t.Fatalf("the stream ended after %d of %d chat events", len(out), n)
			}
			if e.Name == "chat" {
				out = append(out, e)
			}
		case <-timeout:
			t.Fatalf("%d of %d chat events within 15s: %v", len(out), n, ids(out))
		}
	}
	return out
}

func waitFor(t *testing.T, s *chatclient.Stream, ok func(chatclient.Event) bool) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case e, open := <-s.Events:
			if !open {
				t.Fatalf("the stream ended: %v", s.Err)
			}
			if ok(e) {
				return
			}
		case <-timeout:
			t.Fatal("the awaited event did not come within 15s")
		}
	}
}

func ids(evs []chatclient.Event) []int64 {
	var out []int64
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

// TestMain removes the binary buildKefu made.
func TestMain(m *testing.M) {
	code := m.Run()
	if built != "" {
		os.RemoveAll(filepath.Dir(built))
	}
	os.Exit(code)
}
