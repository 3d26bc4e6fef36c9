package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

func statusEvent(t *testing.T, userID, status string, at time.Time) shared.Event {
	t.Helper()
	e, err := shared.NewEvent(eventUserStatusChanged, userID, userStatusChanged{UserID: userID, Status: status})
	if err != nil {
		t.Fatal(err)
	}
	e.OccurredAt = at
	return e
}

// TestConsumedTypes: the consumer's Types are exactly the user events the handler acts on.
func TestConsumedTypes(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	sharedtest.CheckConsumerTypes(t, []string{shared.TopicUser}, consumedTypes, sharedtest.Undecodable,
		sharedtest.RefusesUndecodable(handleUserEvent(quietLogger, env.d.accounts, env.d.sessions, env.d.grants)))
}

func TestStatusChangedEndsSessions(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	lr, sid := env.login(t, "u@example.com", "right-password")
	_, sid2 := env.login(t, "u@example.com", "right-password")
	handle := handleUserEvent(quietLogger, env.d.accounts, env.d.sessions, env.d.grants)
	ctx := context.Background()

	suspend := statusEvent(t, a.ID, statusSuspended, time.Now())
	for range 2 { // a redelivery changes nothing
		if err := handle(ctx, suspend); err != nil {
			t.Fatalf("handle suspend: %v", err)
		}
	}
	for _, s := range []string{sid, sid2} {
		if w := env.do(t, "GET", "/session", nil, "X-Session-ID", s); w.Code != http.StatusUnauthorized {
			t.Errorf("GET /session after suspension: status = %d, want 401", w.Code)
		}
	}
	if _, err := env.d.grants.Peek(ctx, lr.RefreshToken); !errors.Is(err, shared.ErrNotFound) {
		t.Errorf("refresh token survived suspension: %v", err)
	}
	if w := env.do(t, "POST", "/login", `{"email":"u@example.com","password":"right-password"}`); w.Code != http.StatusForbidden {
		t.Errorf("POST /login while suspended: status = %d, want 403", w.Code)
	}

	// An older "active" event arriving late does not lift the suspension.
	if err := handle(ctx, statusEvent(t, a.ID, statusActive, suspend.OccurredAt.Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	if w := env.do(t, "POST", "/login", `{"email":"u@example.com","password":"right-password"}`); w.Code != http.StatusForbidden {
		t.Errorf("POST /login after stale reactivation: status = %d, want 403", w.Code)
	}
	if err := handle(ctx, statusEvent(t, a.ID, statusActive, suspend.OccurredAt.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if w := env.do(t, "POST", "/login", `{"email":"u@example.com","password":"right-password"}`); w.Code != http.StatusOK {
		t.Errorf("POST /login after reactivation: status = %d, want 200", w.Code)
	}
}

func TestUserEventErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	handle := handleUserEvent(quietLogger, env.d.accounts, env.d.sessions, env.d.grants)
	ctx := context.Background()
	bad := func(data string) shared.Event {
		return shared.Event{ID: "e", Type: eventUserStatusChanged, Data: json.RawMessage(data), OccurredAt: time.Now()}
	}
	tests := []struct {
		name   string
		e      shared.Event
		poison bool
	}{
		{"other type ignored", shared.Event{ID: "e", Type: "user.registered", Data: json.RawMessage(`{}`)}, false},
		{"name change of an unknown account ignored", nameEvent(t, "nobody", "Ann", time.Now()), false},
		{"name change without a user", shared.Event{ID: "e", Type: eventUserUpdated, Data: json.RawMessage(`{"name":"Ann"}`)}, true},
		{"name change to a bidi override", nameEvent(t, "u", "Ann\u202e", time.Now()), true},
		{"unknown account ignored", statusEvent(t, "nobody", statusSuspended, time.Now()), false},
		{"bad json", bad(`{"user_id":`), true},
		{"bad status", bad(`{"user_id":"u","status":"banana"}`), true},
		{"no user", bad(`{"status":"active"}`), true},
	}
	for _, tt := range tests {
		err := handle(ctx, tt.e)
		if tt.poison != errors.Is(err, shared.ErrPoison) || (!tt.poison && err != nil) {
			t.Errorf("%s: err = %v, want poison %v", tt.name, err, tt.poison)
		}
	}
}

func nameEvent(t *testing.T, userID, name string, at time.Time) shared.Event {
	t.Helper()
	e, err := shared.NewEvent(eventUserUpdated, userID, map[string]string{"user_id": userID, "name": name})
	if err != nil {
		t.Fatal(err)
	}
	e.OccurredAt = at
	return e
}

// TestNameChangeFollowsProfile: the user service owns the name; when it changes (user.updated),
// auth's copy follows, so the account mails greet the customer by the name they chose, and the
// login answer and ID token carry it. An older event arriving late changes nothing.
func TestNameChangeFollowsProfile(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	handle := handleUserEvent(quietLogger, env.d.accounts, env.d.sessions, env.d.grants)
	ctx := context.Background()
	renamed := nameEvent(t, a.ID, "Zoë Åberg", time.Now())
	for range 2 { // a redelivery changes nothing
		if err := handle(ctx, renamed); err != nil {
			t.Fatalf("handle user.updated: %v", err)
		}
	}
	if err := handle(ctx, nameEvent(t, a.ID, "Old Name", renamed.OccurredAt.Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	if got, _ := env.d.accounts.ByID(ctx, a.ID); got.Name != "Zoë Åberg" {
		t.Fatalf("account name = %q, want Zoë Åberg", got.Name)
	}
	if w := env.do(t, "POST", "/password/forgot", `{"email":"u@example.com"}`); w.Code != http.StatusAccepted {
		t.Fatalf("POST /password/forgot: %d %s", w.Code, w.Body)
	}
	sent := env.mails.sent()
	if len(sent) == 0 || !strings.Contains(sent[len(sent)-1].Text, "Hello Zoë Åberg,") {
		t.Errorf("reset mail does not greet the new name: %+v", sent)
	}
}

// TestStatusChangedRetriesWhenRedisDown: a failing session store makes the handler return an error
// (so Consume retries), and the retry completes the job although the status was already stored.
func TestStatusChangedRetriesWhenRedisDown(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	_, sid := env.login(t, "u@example.com", "right-password")
	flaky := &flakySessions{sessionStore: env.d.sessions, fail: true}
	handle := handleUserEvent(quietLogger, env.d.accounts, flaky, env.d.grants)
	e := statusEvent(t, a.ID, statusSuspended, time.Now())
	if err := handle(context.Background(), e); err == nil {
		t.Fatal("handler hid a session store failure")
	}
	flaky.fail = false
	if err := handle(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if _, err := env.d.sessions.Touch(context.Background(), sid, time.Minute); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("session survived the retried suspension: %v", err)
	}
}

type flakySessions struct {
	sessionStore
	fail bool
}

func (f *flakySessions) DeleteUser(ctx context.Context, userID string) (int, error) {
	if f.fail {
		return 0, shared.ErrUnavailable
	}
	return f.sessionStore.DeleteUser(ctx, userID)
}
