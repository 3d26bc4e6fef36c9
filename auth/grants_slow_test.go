package main

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// slowProxy forwards TCP to a Redis; once delayNext is set, the next reply on any connection reaches
// the client only after delay, as a Redis stalled by a fork, a slow disk or the network would deliver it.
type slowProxy struct {
	ln        net.Listener
	target    string
	delay     time.Duration
	delayNext atomic.Bool
}

func newSlowProxy(tb testing.TB, target string, delay time.Duration) *slowProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &slowProxy{ln: ln, target: target, delay: delay}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *slowProxy) serve(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(up, c)
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 {
			if p.delayNext.CompareAndSwap(true, false) {
				time.Sleep(p.delay)
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestRotateSurvivesSlowRedis: a refresh whose rotation Redis applied but answered after the client's
// read timeout (1 s) is resent by go-redis on a new connection. Before, that second run found the
// token used and revoked the family: a Redis stall of a second logged the user out and was logged as
// a stolen refresh token. The repeat must be the same rotation.
func TestRotateSurvivesSlowRedis(t *testing.T) {
	t.Parallel()
	raw := sharedtest.Redis(t)
	if raw == nil {
		t.Skip("REDIS_TEST_URL not set")
	}
	proxy := newSlowProxy(t, raw.Options().Addr, 1500*time.Millisecond)
	rdb, err := shared.NewRedis(shared.RedisConfig{Host: "127.0.0.1", Port: proxy.ln.Addr().(*net.TCPAddr).Port,
		Password: raw.Options().Password, DB: raw.Options().DB})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	s := &redisGrantStore{rdb: rdb}
	user := "u-" + shared.NewID()
	rt, fam := newFamilyToken()
	g := grant{UserID: user, AuthTime: time.Now().UTC(), ExpiresAt: time.Now().Add(time.Hour).UTC()}
	if err := s.StartFamily(ctx, g, rt); err != nil {
		t.Fatalf("StartFamily: %v", err)
	}
	if err := rotateScript.Load(ctx, rdb).Err(); err != nil { // so the delayed reply is the rotation's
		t.Fatal(err)
	}
	proxy.delayNext.Store(true)
	next := fam + "." + shared.RandomToken()
	if got, err := s.Rotate(ctx, rt, next); err != nil || got.UserID != user {
		t.Fatalf("Rotate with a late answer = %+v, %v; want the grant (errRefreshReused: the retry revoked it)", got, err)
	}
	if _, err := s.Peek(ctx, next); err != nil {
		t.Fatalf("Peek rotated-in token: %v, want it live", err)
	}
}

// TestTakeCodeSurvivesSlowRedis: as TestRotateSurvivesSlowRedis for the authorization code. Before,
// the resent script found the code taken and answered errCodeReused, so the storefront's sign-in
// (its code exchange) failed on a Redis stall of a second.
func TestTakeCodeSurvivesSlowRedis(t *testing.T) {
	t.Parallel()
	raw := sharedtest.Redis(t)
	if raw == nil {
		t.Skip("REDIS_TEST_URL not set")
	}
	proxy := newSlowProxy(t, raw.Options().Addr, 1500*time.Millisecond)
	rdb, err := shared.NewRedis(shared.RedisConfig{Host: "127.0.0.1", Port: proxy.ln.Addr().(*net.TCPAddr).Port,
		Password: raw.Options().Password, DB: raw.Options().DB})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	s := &redisGrantStore{rdb: rdb}
	code, fam := newFamilyToken()
	if err := s.SaveCode(ctx, code, authCode{ClientID: "c", UserID: "u-" + fam}, time.Minute); err != nil {
		t.Fatalf("SaveCode: %v", err)
	}
	if err := takeCodeScript.Load(ctx, rdb).Err(); err != nil {
		t.Fatal(err)
	}
	proxy.delayNext.Store(true)
	c, err := s.TakeCode(ctx, code)
	if err != nil || c.ClientID != "c" || c.FamilyID != fam {
		t.Fatalf("TakeCode with a late answer = %+v, %v; want the code (errCodeReused: the retry refused it)", c, err)
	}
	if _, err := s.TakeCode(ctx, code); !errors.Is(err, errCodeReused) {
		t.Fatalf("TakeCode again: err = %v, want errCodeReused", err)
	}
}
