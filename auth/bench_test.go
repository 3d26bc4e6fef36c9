package main

import (
	"context"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"golang.org/x/crypto/bcrypt"
)

// BenchmarkVerifyAccessToken measures what every service pays per request: shared.NewJWKSVerifier
// checking one of auth's ES256 access tokens against auth's real JWKS endpoint (keys cached after the
// first call, so this is signature + claims work only).
func BenchmarkVerifyAccessToken(b *testing.B) {
	env := newTestEnv(b)
	srv := httptest.NewServer(env.handler)
	b.Cleanup(srv.Close)
	tokens := tokenIssuer{keys: env.d.keys, issuer: env.cfg.Issuer, ttl: env.cfg.AccessTTL}
	token, err := tokens.access(account{ID: "u1", Email: "u@example.com", Name: "U", Role: "customer"}, "sid", "", "")
	if err != nil {
		b.Fatal(err)
	}
	v := shared.NewJWKSVerifier(srv.URL+"/.well-known/jwks.json", env.cfg.Issuer, "")
	ctx := context.Background()
	if _, err := v.Verify(ctx, token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		if _, err := v.Verify(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// cpuTime is the process's user+system CPU time. On this shared 2-core machine wall-clock ns/op
// includes time spent waiting for a core; CPU ns/op is what one verification actually costs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkSignAccessToken measures minting one access token (login, /session, /token).
func BenchmarkSignAccessToken(b *testing.B) {
	keys, err := newMemKeyring(2)
	if err != nil {
		b.Fatal(err)
	}
	tokens := tokenIssuer{keys: keys, issuer: "iss", ttl: 15 * time.Minute}
	a := account{ID: "u1", Email: "u@example.com", Name: "U", Role: "customer"}
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		if _, err := tokens.access(a, "sid", "", ""); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkBcrypt measures one password check at each cost around the default (11); login time is
// dominated by it. Run with -benchtime 3x: each op takes tens to hundreds of milliseconds.
func BenchmarkBcrypt(b *testing.B) {
	for _, cost := range []int{10, 11, 12} {
		hash, err := bcrypt.GenerateFromPassword([]byte("correct horse battery"), cost)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("cost="+strconv.Itoa(cost), func(b *testing.B) {
			cpu := cpuTime()
			for b.Loop() {
				if bcrypt.CompareHashAndPassword(hash, []byte("correct horse battery")) != nil {
					b.Fatal("mismatch")
				}
			}
			reportCPU(b, cpu)
		})
	}
}
