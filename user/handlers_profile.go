package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/goshop/platform/shared"
)

// profileView is a profile as the API shows it.
type profileView struct {
	ID          string          `json:"id"`
	Email       string          `json:"email"`
	Name        string          `json:"name"`
	Role        string          `json:"role"`
	Status      string          `json:"status"`
	Phone       string          `json:"phone"`
	Preferences preferencesView `json:"preferences"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`

	// EmailVerified: auth has seen the user follow a link mailed to Email.
	EmailVerified bool `json:"email_verified"`
}

// preferencesView is Preferences as the API shows them.
type preferencesView struct {
	Newsletter  bool   `json:"newsletter"`
	Currency    string `json:"currency"`
	OrderEmails bool   `json:"order_emails"`
}

func viewProfile(p Profile) profileView {
	prefs := preferencesView{Newsletter: p.Preferences.Newsletter, Currency: p.Preferences.Currency, OrderEmails: p.Preferences.orderEmails()}
	return profileView{ID: p.ID, Email: p.Email, Name: p.Name, Role: p.Role, Status: p.Status,
		Phone: p.Phone, Preferences: prefs, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		EmailVerified: p.EmailVerified}
}

// errSuspended refuses changes to a suspended account's profile.
var errSuspended = shared.Errorf(shared.CodeForbidden, "account is suspended")

// caller returns the verified identity; routes wrap these handlers in RequireAuth, so it is there.
func caller(r *http.Request) shared.Identity {
	id, _ := shared.IdentityFrom(r.Context())
	return id
}

// ensureProfile returns the caller's profile, creating it from the token's claims when auth's
// user.registered has not arrived yet. The event, when it comes, finds the profile and changes nothing.
// A third-party app's token without the email scope has no e-mail: a profile made from it would
// never get one (the event changes nothing), and mail would stop, so the caller waits for the event.
func ensureProfile(ctx context.Context, profiles profileStore, id shared.Identity) (Profile, error) {
	p, err := profiles.Get(ctx, id.UserID)
	if !errNoProfile(err) {
		return p, err
	}
	if !validID(id.UserID) {
		return Profile{}, shared.Errorf(shared.CodeUnauthorized, "token subject is not a valid user ID")
	}
	if id.Email == "" {
		return Profile{}, shared.Errorf(shared.CodeUnavailable, "the account is still being set up; retry in a few seconds")
	}
	err = profiles.Create(ctx, newProfile(id.UserID, id.Email, id.Name, id.Role, time.Now()))
	if err != nil && !errors.Is(err, shared.ErrConflict) {
		return Profile{}, err
	}
	return profiles.Get(ctx, id.UserID)
}

// decodeForCaller decodes a request body of type T about the caller's own profile and makes sure
// that profile exists (ensureProfile). When it returns false the error has been written.
func decodeForCaller[T any](w http.ResponseWriter, r *http.Request, logger *slog.Logger, profiles profileStore) (T, shared.Identity, bool) {
	body, err := shared.Decode[T](w, r)
	if err != nil {
		shared.WriteError(w, r, logger, err)
		return body, shared.Identity{}, false
	}
	id := caller(r)
	if _, err := ensureProfile(r.Context(), profiles, id); err != nil {
		shared.WriteError(w, r, logger, err)
		return body, id, false
	}
	return body, id, true
}

// handleMeGet answers GET /users/me: the caller's profile, created on first sight.
func handleMeGet(logger *slog.Logger, profiles profileStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := ensureProfile(r.Context(), profiles, caller(r))
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		shared.Encode(w, http.StatusOK, viewProfile(p))
	})
}

// profilePatch is the body of PATCH /users/me; absent fields stay as they are, "phone": "" clears the
// phone.
type profilePatch struct {
	Name        *string           `json:"name"`
	Phone       *string           `json:"phone"`
	Preferences *preferencesPatch `json:"preferences"`
}

type preferencesPatch struct {
	Newsletter  *bool   `json:"newsletter"`
	Currency    *string `json:"currency"`
	OrderEmails *bool   `json:"order_emails"`
}

// Valid checks and normalizes the fields that are present.
func (b *profilePatch) Valid(context.Context) map[string]string {
	problems := map[string]string{}
	if b.Name != nil {
		v, msg := cleanText(*b.Name, maxNameLen, true)
		if msg != "" {
			problems["name"] = msg
		}
		b.Name = &v
	}
	if b.Phone != nil {
		v, msg := normalizePhone(*b.Phone)
		if msg != "" {
			problems["phone"] = msg
		}
		b.Phone = &v
	}
	if b.Preferences != nil && b.Preferences.Currency != nil {
		v, msg := normalizeCurrency(*b.Preferences.Currency)
		if msg != "" {
			problems["preferences.currency"] = msg
		}
		b.Preferences.Currency = &v
	}
	return problems
}

// apply writes the patch into p and records user.updated when the name changed. A suspended user may
// not change their profile; an admin may.
func (b *profilePatch) apply(p *Profile, now time.Time, byAdmin bool) error {
	if p.Status == statusSuspended && !byAdmin {
		return errSuspended
	}
	if b.Name != nil && *b.Name != p.Name {
		p.Name = *b.Name
		if err := addEvent(p, eventUserUpdated, userUpdated{UserID: p.ID, Name: p.Name}); err != nil {
			return err
		}
	}
	if b.Phone != nil {
		p.Phone = *b.Phone
	}
	if b.Preferences != nil {
		if b.Preferences.Newsletter != nil {
			p.Preferences.Newsletter = *b.Preferences.Newsletter
		}
		if b.Preferences.Currency != nil {
			p.Preferences.Currency = *b.Preferences.Currency
		}
		if v := b.Preferences.OrderEmails; v != nil {
			p.Preferences.OrderEmailsOff = !*v
		}
	}
	p.UpdatedAt = now.UTC().Truncate(time.Millisecond)
	return nil
}

// handleMePatch answers PATCH /users/me: name, phone and preferences. A name change publishes
// user.updated through the outbox.
func handleMePatch(logger *slog.Logger, profiles profileStore, kick func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, id, ok := decodeForCaller[profilePatch](w, r, logger, profiles)
		if !ok {
			return
		}
		patchProfile(w, r, logger, profiles, kick, id.UserID, &body, false)
	})
}

// patchProfile applies body to the profile userID and answers with the result.
func patchProfile(w http.ResponseWriter, r *http.Request, logger *slog.Logger, profiles profileStore, kick func(), userID string, body *profilePatch, byAdmin bool) {
	p, err := profiles.Update(r.Context(), userID, func(p *Profile) error { return body.apply(p, time.Now(), byAdmin) })
	if errNoProfile(err) {
		err = errUserNotFound
	}
	if err != nil {
		shared.WriteError(w, r, logger, err)
		return
	}
	if len(p.Outbox) > 0 {
		kick()
	}
	shared.Encode(w, http.StatusOK, viewProfile(p))
}
