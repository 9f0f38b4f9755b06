package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/testclock"
)

func TestSessionStore(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		c := testclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), 0)
		s := &auth.SessionStore{DB: db, Now: c.Now}
		ctx := context.Background()

		if _, found, err := s.FindCtx(ctx, "missing"); found || err != nil {
			t.Fatalf("missing: found %v err %v", found, err)
		}
		if err := s.CommitCtx(ctx, "tok1", []byte{0, 1, 2, 0xff}, c.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit("tok2", []byte("short"), c.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		b, found, err := s.Find("tok1")
		if err != nil || !found || !cmp.Equal(b, []byte{0, 1, 2, 0xff}) {
			t.Fatalf("find: %v %v %v", b, found, err)
		}
		// Commit overwrites data and expiry.
		if err := s.CommitCtx(ctx, "tok1", []byte("new"), c.Now().Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if b, _, _ := s.FindCtx(ctx, "tok1"); string(b) != "new" {
			t.Errorf("after overwrite: %q", b)
		}
		all, err := s.All()
		if err != nil || len(all) != 2 {
			t.Errorf("all: %v %v", all, err)
		}

		c.Advance(time.Minute) // tok2 expires exactly now
		if _, found, _ := s.FindCtx(ctx, "tok2"); found {
			t.Error("expired session found")
		}
		all, _ = s.AllCtx(ctx)
		if _, ok := all["tok2"]; ok || len(all) != 1 {
			t.Errorf("all after expiry: %v", all)
		}
		n, err := s.Cleanup(ctx)
		if err != nil || n != 1 {
			t.Errorf("cleanup: %d %v", n, err)
		}

		// Sub-second expiries compare correctly on both engines.
		sub := c.Now().Add(500 * time.Millisecond)
		if err := s.CommitCtx(ctx, "tok3", []byte("x"), sub); err != nil {
			t.Fatal(err)
		}
		c.Advance(250 * time.Millisecond)
		if _, found, _ := s.FindCtx(ctx, "tok3"); !found {
			t.Error("session expiring in 250ms not found")
		}
		c.Advance(251 * time.Millisecond)
		if _, found, _ := s.FindCtx(ctx, "tok3"); found {
			t.Error("session expired 1ms ago found")
		}

		if err := s.Delete("tok1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCtx(ctx, "tok1"); err != nil {
			t.Errorf("deleting a deleted session: %v", err)
		}
		if _, found, _ := s.Find("tok1"); found {
			t.Error("deleted session found")
		}
	})
}

// TestSessionManager runs the store under scs, as the HTTP layer will.
func TestSessionManager(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		sm := scs.New()
		sm.Store = &auth.SessionStore{DB: db}
		mux := http.NewServeMux()
		mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) { sm.Put(r.Context(), "staff_id", "s-1") })
		mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(sm.GetString(r.Context(), "staff_id"))) })
		h := sm.LoadAndSave(mux)

		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/put", nil))
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("cookies = %v", cookies)
		}
		req := httptest.NewRequest("GET", "/get", nil)
		req.AddCookie(cookies[0])
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := rec.Body.String(); got != "s-1" {
			t.Errorf("session value = %q", got)
		}
	})
}
