// Package chatclient speaks live chat over HTTP as the widget and the
// console do: a visitor's session, messages and event stream, and an
// agent's sign-in, accepting, replying and console stream. It drives
// real servers in the multi-instance test and in kefu-load.
package chatclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Error is a refused request.
type Error struct {
	Status int
	Body   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Status, strings.TrimSpace(e.Body))
}

// check turns a refusal (4xx, 5xx) into an error; a redirect is an
// answer (the console redirects after a form).
func check(res *http.Response) error {
	if res.StatusCode < 400 {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	return &Error{Status: res.StatusCode, Body: string(b)}
}

// Client returns an HTTP client whose connections come from localIP (""
// for any): on loopback every visitor of a load test can have an address
// of its own, as real visitors do, so per-address limits apply to each.
func Client(localIP string) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if localIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(localIP)}
	}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second}}
}

// Visitor is the widget of one visitor on a shop's page.
type Visitor struct {
	Base   string // Kefu's address, http://host:port
	Origin string // the shop's page origin
	HTTP   *http.Client
	Token  string
}

func (v *Visitor) do(ctx context.Context, method, path string, body any, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, v.Base+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if v.Origin != "" {
		req.Header.Set("Origin", v.Origin)
	}
	if v.Token != "" {
		req.Header.Set("Authorization", "Bearer "+v.Token)
	}
	res, err := v.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if err := check(res); err != nil {
		return err
	}
	if out == nil {
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}
	return json.NewDecoder(res.Body).Decode(out)
}

// Session opens (or, with a token, resumes) the visitor's session.
func (v *Visitor) Session(ctx context.Context, lang string) error {
	var out struct {
		Token string `json:"token"`
	}
	if err := v.do(ctx, "POST", "/chat/v1/session", map[string]any{"token": v.Token, "lang": lang}, &out); err != nil {
		return err
	}
	v.Token = out.Token
	return nil
}

// Prechat is the first message's form.
type Prechat struct {
	Name        string `json:"name"`
	Email       string `json:"email,omitempty"`
	Phone       string `json:"phone,omitempty"`
	OrderNumber string `json:"order_number,omitempty"`
}

// Sent is what sending a message returns.
type Sent struct {
	Seq          int64 `json:"seq"`
	Conversation struct {
		State     string `json:"state"`
		TicketKey string `json:"ticket_key"`
		LastSeq   int64  `json:"last_seq"`
	} `json:"conversation"`
}

// Send sends a message; pre is needed with the first.
func (v *Visitor) Send(ctx context.Context, text string, pre *Prechat) (*Sent, error) {
	var out Sent
	err := v.do(ctx, "POST", "/chat/v1/messages", map[string]any{"text": text, "prechat": pre}, &out)
	return &out, err
}

// Stream opens the visitor's event stream, resuming after lastID.
func (v *Visitor) Stream(ctx context.Context, lastID int64) (*Stream, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", v.Base+"/chat/v1/stream", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+v.Token)
	if v.Origin != "" {
		req.Header.Set("Origin", v.Origin)
	}
	return open(v.HTTP, req, lastID)
}

// Agent is a signed-in console.
type Agent struct {
	Base string
	HTTP *http.Client
}

// SignIn signs in with email and password.
func SignIn(ctx context.Context, base, email, password string) (*Agent, error) {
	jar, _ := cookiejar.New(nil)
	c := Client("")
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	a := &Agent{Base: base, HTTP: c}
	res, err := a.post(ctx, "/signin", url.Values{"email": {email}, "password": {password}})
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusSeeOther || strings.HasPrefix(res.Header.Get("Location"), "/signin") {
		return nil, fmt.Errorf("sign in as %s: %d to %s", email, res.StatusCode, res.Header.Get("Location"))
	}
	return a, nil
}

func (a *Agent) post(ctx context.Context, path string, form url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", a.Base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("HX-Request", "true")
	res, err := a.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if err := check(res); err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	return res, err
}

// Get reads a console page or fragment.
func (a *Agent) Get(ctx context.Context, path string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", a.Base+path, nil)
	if err != nil {
		return "", err
	}
	res, err := a.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if err := check(res); err != nil {
		return "", err
	}
	b, err := io.ReadAll(res.Body)
	return string(b), err
}

// Post submits a console form.
func (a *Agent) Post(ctx context.Context, path string, form url.Values) error {
	_, err := a.post(ctx, path, form)
	return err
}

// Accept takes a queued chat by its ticket key.
func (a *Agent) Accept(ctx context.Context, key string) error {
	return a.Post(ctx, "/chats/"+key+"/accept", nil)
}

// Reply answers on the chat's ticket with the console's composer.
func (a *Agent) Reply(ctx context.Context, key, text string) error {
	return a.Post(ctx, "/t/"+key+"/messages", url.Values{"kind": {"reply"}, "text": {text}})
}

// Stream opens the console's stream: of a chat ticket's page when key is
// set (resuming after lastID), else of any page.
func (a *Agent) Stream(ctx context.Context, key string, lastID int64) (*Stream, error) {
	u := a.Base + "/events"
	if key != "" {
		u += "?ticket=" + url.QueryEscape(key)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	return open(a.HTTP, req, lastID)
}

// Event is one Server-Sent Event; ID is 0 when it had none.
type Event struct {
	ID   int64
	Name string
	Data string
}

// Stream delivers a stream's events until its context ends or it drops.
type Stream struct {
	Events <-chan Event
	Err    error // why it ended, once Events is closed
}

func open(c *http.Client, req *http.Request, lastID int64) (*Stream, error) {
	req.Header.Set("Accept", "text/event-stream")
	if lastID > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(lastID, 10))
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if err := check(res); err != nil {
		res.Body.Close()
		return nil, err
	}
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		res.Body.Close()
		return nil, fmt.Errorf("not an event stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	ch := make(chan Event, 64)
	s := &Stream{Events: ch}
	go func() {
		defer close(ch)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		var ev Event
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Name != "" || len(data) > 0 {
					ev.Data = strings.Join(data, "\n")
					ch <- ev
				}
				ev, data = Event{}, nil
			case strings.HasPrefix(line, ":"):
			case strings.HasPrefix(line, "id:"):
				ev.ID, _ = strconv.ParseInt(strings.TrimSpace(line[3:]), 10, 64)
			case strings.HasPrefix(line, "event:"):
				ev.Name = strings.TrimSpace(line[6:])
			case strings.HasPrefix(line, "data:"):
				data = append(data, strings.TrimPrefix(line[5:], " "))
			}
		}
		s.Err = sc.Err()
	}()
	return s, nil
}
