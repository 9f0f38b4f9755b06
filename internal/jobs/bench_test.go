package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/jobs"
)

// BenchmarkEnqueueAndRun measures jobs per second end to end: enqueued
// and committed, claimed, run by a no-op handler, recorded finished, with
// one Runner of 4 workers. perTx is how many jobs each transaction
// enqueues: 1 is an outbox job per change, 100 a bulk notice.
func BenchmarkEnqueueAndRun(b *testing.B) {
	for _, engine := range databasetest.Engines() {
		for _, perTx := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/perTx=%d", engine, perTx), func(b *testing.B) {
				db := databasetest.Open(b, engine)
				benchEnqueueAndRun(b, db, perTx)
			})
		}
	}
}

func benchEnqueueAndRun(b *testing.B, db *database.DB, perTx int) {
	ctx := context.Background()
	n := &jobs.Notifier{DB: db}
	q := &jobs.Queue{DB: db, Now: realNow, Notifier: n}
	total := int64(b.N)
	var ran atomic.Int64
	all := make(chan struct{})
	runner := &jobs.Runner{DB: db, Now: realNow, Workers: 4, Poll: 100 * time.Millisecond, Notifier: n, Log: quiet,
		Handlers: map[string]jobs.Handler{"noop": func(context.Context, *jobs.Record) error {
			if ran.Add(1) == total {
				close(all)
			}
			return nil
		}}}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- runner.Run(rctx) }()
	b.ResetTimer()
	for i := 0; i < b.N; i += perTx {
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			for j := i; j < min(i+perTx, b.N); j++ {
				if _, err := q.Enqueue(ctx, tx, jobs.Job{Kind: "noop", Payload: j}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	<-all
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWakeLatency measures the time from an enqueue's commit to its
// handler starting, with polling out of the picture (Poll is an hour): the
// delivery latency of the Notifier on each engine.
func BenchmarkWakeLatency(b *testing.B) {
	for _, engine := range databasetest.Engines() {
		b.Run(engine, func(b *testing.B) {
			db := databasetest.Open(b, engine)
			ctx := context.Background()
			n := &jobs.Notifier{DB: db}
			q := &jobs.Queue{DB: db, Now: realNow, Notifier: n}
			ran := make(chan struct{}, 1)
			runner := &jobs.Runner{DB: db, Now: realNow, Poll: time.Hour, Notifier: n, Log: quiet,
				Handlers: map[string]jobs.Handler{"ping": func(context.Context, *jobs.Record) error {
					ran <- struct{}{}
					return nil
				}}}
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan error)
			go func() { done <- runner.Run(rctx) }()
			enqueueOne := func() {
				err := db.InTx(ctx, func(tx *sql.Tx) error {
					_, err := q.Enqueue(ctx, tx, jobs.Job{Kind: "ping"})
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			enqueueOne() // waits for the listener to be up on PostgreSQL
			<-ran
			var sum time.Duration
			b.ResetTimer()
			for range b.N {
				enqueueOne()
				t0 := time.Now() // after the commit
				<-ran
				sum += time.Since(t0)
			}
			b.StopTimer()
			b.ReportMetric(float64(sum.Microseconds())/float64(b.N)/1000, "ms/wake")
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}
