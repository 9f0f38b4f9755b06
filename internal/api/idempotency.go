package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/kefu-desk/kefu"
)

// idempotencyTTL is how long a key is remembered: longer than any client
// retries, short enough that the table stays small.
const idempotencyTTL = 24 * time.Hour

// replayedHeaders are the response headers a replay repeats.
var replayedHeaders = []string{"ETag", "Location", "Content-Type"}

// maxReplayBody bounds what is kept for replay.
const maxReplayBody = 1 << 20

// idempotent makes a POST carrying an Idempotency-Key happen once: the
// key is claimed before the handler runs, the response is stored with it,
// and a retry gets the stored response. The same key with a different
// request is refused, and so is a retry while the first is in flight. A
// failed request (5xx) releases its key so it can be retried.
func (s *Server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if r.Method != http.MethodPost || key == "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		a := kefu.ActorFrom(ctx)
		if a.Kind == "" {
			next.ServeHTTP(w, r) // the route refuses anonymous callers itself
			return
		}
		if len(key) > 255 {
			writeProblem(w, r, fieldProblem("header.Idempotency-Key", "must be at most 255 characters"))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<20))
		if err != nil {
			writeProblem(w, r, &Problem{Status: 413, Title: "Request Entity Too Large", Code: string(kefu.TooLarge), Detail: "request body too large"})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.Path+"\n"), body...))
		hash := hex.EncodeToString(sum[:])
		actor := string(a.Kind) + ":" + a.ID
		now := s.Now()

		claimed, err := s.claimKey(ctx, actor, key, r, hash, now)
		if err != nil {
			writeProblem(w, r, problem(ctx, err))
			return
		}
		if !claimed {
			s.replay(w, r, actor, key, hash)
			return
		}
		rec := &recorder{ResponseWriter: w, status: 200}
		defer func() {
			// Keep the outcome for retries; release the key on failure so
			// the client may try again.
			ctx := context.WithoutCancel(ctx)
			if rec.status >= 500 || rec.overflow {
				s.DB.Write.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE actor = $1 AND key = $2`, actor, key)
				return
			}
			kept := http.Header{}
			for _, h := range replayedHeaders {
				if v := rec.Header().Get(h); v != "" {
					kept.Set(h, v)
				}
			}
			headers, _ := json.Marshal(kept)
			if _, err := s.DB.Write.ExecContext(ctx, `UPDATE idempotency_keys SET status = $3, headers = $4, body = $5 WHERE actor = $1 AND key = $2`,
				actor, key, rec.status, string(headers), rec.buf.Bytes()); err != nil {
				slog.ErrorContext(ctx, "idempotency: store response", "err", err)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

func (s *Server) claimKey(ctx context.Context, actor, key string, r *http.Request, hash string, now time.Time) (bool, error) {
	// Expired keys are dropped lazily by whoever touches them.
	if _, err := s.DB.Write.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE actor = $1 AND key = $2 AND created_at < $3`,
		actor, key, now.Add(-idempotencyTTL)); err != nil {
		return false, err
	}
	res, err := s.DB.Write.ExecContext(ctx, `INSERT INTO idempotency_keys (actor, key, method, path, request_hash, status, body, created_at)
		VALUES ($1, $2, $3, $4, $5, 0, $6, $7) ON CONFLICT (actor, key) DO NOTHING`,
		actor, key, r.Method, r.URL.Path, hash, []byte{}, now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *Server) replay(w http.ResponseWriter, r *http.Request, actor, key, hash string) {
	var status int
	var storedHash, headers string
	var body []byte
	err := s.DB.Write.QueryRowContext(r.Context(), `SELECT status, request_hash, headers, body FROM idempotency_keys WHERE actor = $1 AND key = $2`,
		actor, key).Scan(&status, &storedHash, &headers, &body)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Released between our claim and this read: a failed first try.
		writeProblem(w, r, &Problem{Status: 409, Title: "Conflict", Code: string(kefu.Conflict), Detail: "a request with this Idempotency-Key just failed; retry"})
	case err != nil:
		writeProblem(w, r, problem(r.Context(), err))
	case storedHash != hash:
		writeProblem(w, r, fieldProblem("header.Idempotency-Key", "was already used for a different request"))
	case status == 0:
		w.Header().Set("Retry-After", "1")
		writeProblem(w, r, &Problem{Status: 409, Title: "Conflict", Code: string(kefu.Conflict), Detail: "a request with this Idempotency-Key is still in progress"})
	default:
		var kept http.Header
		json.Unmarshal([]byte(headers), &kept)
		for k, vs := range kept {
			w.Header()[k] = vs
		}
		w.Header().Set("Idempotent-Replayed", "true")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		w.Write(body)
	}
}

func fieldProblem(location, msg string) *Problem {
	return &Problem{Status: 422, Title: "Unprocessable Entity", Code: string(kefu.Invalid), Detail: "invalid request",
		Errors: []*huma.ErrorDetail{{Location: location, Message: msg}}}
}

// recorder passes a response through while keeping a copy for replay.
type recorder struct {
	http.ResponseWriter
	status   int
	buf      bytes.Buffer
	overflow bool
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.buf.Len()+len(b) > maxReplayBody {
		r.overflow = true
	} else {
		r.buf.Write(b)
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
