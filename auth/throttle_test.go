package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// loginBody is a POST /login body.
func loginBody(email, password string) string {
	return `{"email":"` + email + `","password":"` + password + `"}`
}

// TestLoginThrottleCannotBeSteered: failures lock the client that made them, never someone else. Each
// row replays attacker failures, then one login, on synctest's clock; the address 192.0.2.66 is shared
// by the attacker and the people behind the same NAT.
func TestLoginThrottleCannotBeSteered(t *testing.T) {
	t.Parallel()
	const nat, elsewhere = "192.0.2.66:1000", "198.51.100.9:2000"
	spray := func(env *testEnv, from string, n int) {
		for i := range n {
			env.doFrom(t, from, "POST", "/login", loginBody("spray"+strconv.Itoa(i)+"@example.com", "wrong-password"))
		}
	}
	hammer := func(env *testEnv, from, email string, n int) {
		for range n {
			env.doFrom(t, from, "POST", "/login", loginBody(email, "wrong-password"))
		}
	}
	tests := []struct {
		name       string
		before     func(env *testEnv)
		from, pass string
		want       int
	}{
		{"21st client behind a NAT after 20 others failed", func(env *testEnv) { spray(env, nat, ipPolicy.Threshold) },
			nat, "right-password", http.StatusOK},
		{"behind a NAT long locked", func(env *testEnv) { spray(env, nat, 3*ipPolicy.Threshold) },
			nat, "right-password", http.StatusOK},
		{"account attacked from another address", func(env *testEnv) { hammer(env, elsewhere, "user@example.com", 3*accountPolicy.Threshold) },
			nat, "right-password", http.StatusOK},
		{"the attacking client itself", func(env *testEnv) { hammer(env, nat, "user@example.com", accountPolicy.Threshold) },
			nat, "right-password", http.StatusTooManyRequests},
		{"a client that failed itself behind a locked address", func(env *testEnv) {
			hammer(env, nat, "user@example.com", 1)
			spray(env, nat, ipPolicy.Threshold)
		}, nat, "right-password", http.StatusTooManyRequests},
		{"a first wrong guess behind a locked address is checked", func(env *testEnv) { spray(env, nat, ipPolicy.Threshold) },
			nat, "wrong-password", http.StatusUnauthorized},
		{"a second guess behind a locked address is refused", func(env *testEnv) {
			spray(env, nat, ipPolicy.Threshold)
			hammer(env, nat, "user@example.com", 1)
		}, nat, "right-password", http.StatusTooManyRequests},
		{"a spoofed X-Forwarded-For does not escape", func(env *testEnv) {
			for i := range accountPolicy.Threshold {
				env.doFrom(t, nat, "POST", "/login", loginBody("user@example.com", "wrong-password"),
					"X-Forwarded-For", "203.0.113."+strconv.Itoa(i+1))
			}
		}, nat, "right-password", http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				env := newTestEnv(t)
				env.addAccount(t, "user@example.com", "right-password", shared.RoleCustomer)
				tt.before(env)
				w := env.doFrom(t, tt.from, "POST", "/login", loginBody("user@example.com", tt.pass))
				if w.Code != tt.want {
					t.Fatalf("POST /login from %s: status = %d, want %d; body %s", tt.from, w.Code, tt.want, w.Body)
				}
				if tt.want == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
					t.Errorf("429 without Retry-After")
				}
			})
		})
	}
}

// TestLoginThrottleExpires: an address lock and a client lock end after their time on the fake clock.
func TestLoginThrottleExpires(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		env := newTestEnv(t)
		env.addAccount(t, "user@example.com", "right-password", shared.RoleCustomer)
		for range accountPolicy.Threshold {
			env.do(t, "POST", "/login", loginBody("user@example.com", "wrong-password"))
		}
		w := env.do(t, "POST", "/login", loginBody("user@example.com", "right-password"))
		if w.Code != http.StatusTooManyRequests {
			t.Fatalf("locked client: status = %d, want 429", w.Code)
		}
		wait, _ := strconv.Atoi(w.Header().Get("Retry-After"))
		time.Sleep(time.Duration(wait) * time.Second)
		if w := env.do(t, "POST", "/login", loginBody("user@example.com", "right-password")); w.Code != http.StatusOK {
			t.Fatalf("after Retry-After: status = %d, want 200", w.Code)
		}
	})
}

// TestLoginNoEnumeration replays the same attempts for a known and an unknown email, each from its own
// address, after the known account was attacked from elsewhere: every answer must match in status,
// Retry-After, error code and message, and in the number of bcrypt comparisons (the time it takes).
func TestLoginNoEnumeration(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var compares atomic.Int64
		env := newTestEnv(t)
		real := env.d.hasher.compare
		env.d.hasher.compare = func(hash, pw []byte) error { compares.Add(1); return real(hash, pw) }
		env.addAccount(t, "known@example.com", "right-password", shared.RoleCustomer)
		for range 3 * accountPolicy.Threshold {
			env.doFrom(t, "203.0.113.50:1", "POST", "/login", loginBody("known@example.com", "wrong-password"))
		}
		type answer struct {
			status             int
			retryAfter         string
			code, msg          string
			compares           int64
			hasFields, hasBody bool
		}
		attempt := func(email, from string) answer {
			before := compares.Load()
			w := env.doFrom(t, from, "POST", "/login", loginBody(email, "wrong-password"))
			e := sharedtest.Decode[sharedtest.ErrorBody](t, w)
			return answer{w.Code, w.Header().Get("Retry-After"), e.Error.Code, e.Error.Message, compares.Load() - before,
				len(e.Error.Fields) > 0, w.Body.Len() > 0}
		}
		for i := range accountPolicy.Threshold + 3 {
			known := attempt("known@example.com", "192.0.2.1:1")
			unknown := attempt("nobody@example.com", "192.0.2.2:1")
			if known != unknown {
				t.Fatalf("attempt %d: known email answered %+v, unknown %+v", i+1, known, unknown)
			}
			if i == 0 && (known.status != http.StatusUnauthorized || known.compares != 1) {
				t.Fatalf("first attempt: %+v, want 401 after one bcrypt comparison", known)
			}
		}
	})
}

// TestRegisterEnumerationThrottled: a 409 says an email is registered, so an address that keeps hitting
// taken emails is refused (429, before any lookup) until its lock ends; other addresses are not.
func TestRegisterEnumerationThrottled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		env := newTestEnv(t)
		const prober, other = "192.0.2.77:1", "198.51.100.20:1"
		register := func(from, email string) *httptest.ResponseRecorder {
			return env.doFrom(t, from, "POST", "/register", `{"email":"`+email+`","password":"a-long-passw0rd","name":"N"}`)
		}
		env.addAccount(t, "taken@example.com", "right-password", shared.RoleCustomer)
		for i := range ipPolicy.Threshold {
			if w := register(prober, "taken@example.com"); w.Code != http.StatusConflict {
				t.Fatalf("probe %d: status = %d, want 409", i+1, w.Code)
			}
		}
		w := register(prober, "fresh1@example.com")
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
			t.Fatalf("register after %d conflicts: status = %d, want 429 with Retry-After", ipPolicy.Threshold, w.Code)
		}
		if w := register(other, "fresh2@example.com"); w.Code != http.StatusCreated {
			t.Fatalf("register from another address: status = %d, want 201", w.Code)
		}
		wait, _ := strconv.Atoi(w.Header().Get("Retry-After"))
		time.Sleep(time.Duration(wait) * time.Second)
		if w := register(prober, "fresh3@example.com"); w.Code != http.StatusCreated {
			t.Fatalf("register after the lock: status = %d, want 201", w.Code)
		}
	})
}
