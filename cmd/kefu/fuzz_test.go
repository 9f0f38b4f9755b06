package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/team"
)

// fuzzTargets are the routes that decode a JSON body. {t} and {c} stand
// for an existing ticket and customer.
var fuzzTargets = []struct{ method, path string }{
	{"POST", "/api/v1/tickets"},
	{"PATCH", "/api/v1/tickets/{t}"},
	{"POST", "/api/v1/tickets/{t}/messages"},
	{"POST", "/api/v1/tickets/{t}/merge"},
	{"POST", "/api/v1/customers"},
	{"PATCH", "/api/v1/customers/{c}"},
	{"POST", "/api/v1/customers/{c}/identities"},
	{"POST", "/api/v1/customers/{c}/merge"},
	{"POST", "/api/v1/staff"},
	{"POST", "/api/v1/departments"},
	{"POST", "/api/v1/tokens"},
	{"PUT", "/api/v1/custom-fields/size"},
	{"PUT", "/api/v1/categories/gift"},
	{"POST", "/api/v1/auth/login"},
}

// FuzzAPIDecoding sends random bodies to every JSON route. Whatever the
// input, the answer is a 2xx or a 4xx problem, never a panic or a 500.
func FuzzAPIDecoding(f *testing.F) {
	for _, seed := range []string{
		`{"subject":"x","channel":"email","customer":{"email":"a@b.cn"},"message":{"text":"hi"}}`,
		`{"priority":"urgent","tags":["a"],"custom_fields":{"size":"M"}}`,
		`{"kind":"reply","text":"好的","attachments":[{"filename":"a.png","data":"aGk="}]}`,
		`{"name":"王芳","identities":[{"kind":"phone","value":"+86 138"}]}`,
		`{"email":"x@y.z","password":"0123456789"}`, `[]`, `null`, `{"subject":1e400}`, "\xff\xfe", `{"a":{"b":{"c":[[[[]]]]}}}`,
	} {
		for i := range fuzzTargets {
			f.Add(uint8(i), []byte(seed))
		}
	}
	db, err := database.Open(context.Background(), filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background()); err != nil {
		f.Fatal(err)
	}
	app := newApp(db, f.TempDir(), false, clock, auth.TestParams)
	ctx := kefu.WithActor(context.Background(), kefu.System)
	admin, err := app.Team.CreateStaff(ctx, team.NewStaff{Email: "fuzz@shop.cn", Name: "Fuzz", Role: kefu.RoleAdmin})
	if err != nil {
		f.Fatal(err)
	}
	token, _, err := app.Auth.CreateToken(kefu.WithActor(ctx, kefu.Actor{Kind: kefu.ActorStaff, ID: admin.ID, Role: kefu.RoleAdmin}),
		admin.ID, "fuzz", auth.Scopes, nil)
	if err != nil {
		f.Fatal(err)
	}
	h := app.Handler()
	send := func(method, path string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := send("POST", "/api/v1/tickets", []byte(`{"subject":"seed","channel":"email","customer":{"email":"seed@example.cn"},"message":{"text":"x"}}`))
	if rec.Code != http.StatusCreated {
		f.Fatalf("seed ticket: %d %s", rec.Code, rec.Body)
	}
	ticketID, customerID := field(rec.Body.Bytes(), "id"), field(rec.Body.Bytes(), "customer_id")
	f.Fuzz(func(t *testing.T, target uint8, body []byte) {
		tg := fuzzTargets[int(target)%len(fuzzTargets)]
		path := bytes.ReplaceAll([]byte(tg.path), []byte("{t}"), []byte(ticketID))
		path = bytes.ReplaceAll(path, []byte("{c}"), []byte(customerID))
		rec := send(tg.method, string(path), body)
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q: %d %s", tg.method, path, body, rec.Code, rec.Body)
		}
	})
}

func field(body []byte, name string) string {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}
