package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/goshop/platform/shared"
)

// addressFields are the editable fields of an address, in the body of POST and PUT
// /users/me/addresses; is_default is optional (the first address becomes the default anyway).
type addressFields struct {
	Name      string `json:"name"`
	Street    string `json:"street"`
	City      string `json:"city"`
	State     string `json:"state"`
	ZipCode   string `json:"zip_code"`
	Country   string `json:"country"`
	IsDefault *bool  `json:"is_default"`
}

// Valid checks and normalizes every field (state may be empty).
func (a *addressFields) Valid(context.Context) map[string]string {
	problems := map[string]string{}
	for field, v := range map[string]*string{"name": &a.Name, "street": &a.Street, "city": &a.City,
		"state": &a.State, "zip_code": &a.ZipCode, "country": &a.Country} {
		clean, msg := checkAddressField(field, *v)
		if msg != "" {
			problems[field] = msg
		}
		*v = clean
	}
	return problems
}

// addressPatch is the body of PATCH /users/me/addresses/{id}: only the fields present change.
type addressPatch struct {
	Name      *string `json:"name"`
	Street    *string `json:"street"`
	City      *string `json:"city"`
	State     *string `json:"state"`
	ZipCode   *string `json:"zip_code"`
	Country   *string `json:"country"`
	IsDefault *bool   `json:"is_default"`
}

// Valid checks and normalizes the fields that are present.
func (a *addressPatch) Valid(context.Context) map[string]string {
	problems := map[string]string{}
	for field, v := range map[string]*string{"name": a.Name, "street": a.Street, "city": a.City,
		"state": a.State, "zip_code": a.ZipCode, "country": a.Country} {
		if v == nil {
			continue
		}
		clean, msg := checkAddressField(field, *v)
		if msg != "" {
			problems[field] = msg
		}
		*v = clean
	}
	return problems
}

func (a *addressPatch) applyTo(dst *Address) {
	set := func(dst, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&dst.Name, a.Name)
	set(&dst.Street, a.Street)
	set(&dst.City, a.City)
	set(&dst.State, a.State)
	set(&dst.ZipCode, a.ZipCode)
	set(&dst.Country, a.Country)
}

// errAddressNotFound is the answer for an address the caller does not have.
var errAddressNotFound = shared.Errorf(shared.CodeNotFound, "address not found")

// addressIndex returns the index of the address with id in p, or -1.
func addressIndex(p *Profile, id string) int {
	for i, a := range p.Addresses {
		if a.ID == id {
			return i
		}
	}
	return -1
}

// markDefault makes the address at i the only default one (def true), or clears its flag.
func markDefault(p *Profile, i int, def bool) {
	if !def {
		p.Addresses[i].IsDefault = false
		return
	}
	for j := range p.Addresses {
		p.Addresses[j].IsDefault = j == i
	}
}

// addAddress appends a to p, enforcing maxAddresses; the first address becomes the default.
func addAddress(p *Profile, a Address, def bool) error {
	if p.Status == statusSuspended {
		return errSuspended
	}
	if len(p.Addresses) >= maxAddresses {
		return shared.Errorf(shared.CodeConflict, "address limit reached: at most %d addresses", maxAddresses)
	}
	a.IsDefault = false
	p.Addresses = append(p.Addresses, a)
	markDefault(p, len(p.Addresses)-1, def || len(p.Addresses) == 1)
	return nil
}

// editAddress replaces the address with id by edit(current); def, when set, changes the default flag.
func editAddress(p *Profile, id string, edit func(*Address), def *bool) (Address, error) {
	if p.Status == statusSuspended {
		return Address{}, errSuspended
	}
	i := addressIndex(p, id)
	if i < 0 {
		return Address{}, errAddressNotFound
	}
	edit(&p.Addresses[i])
	p.Addresses[i].ID = id
	if def != nil {
		markDefault(p, i, *def)
	}
	return p.Addresses[i], nil
}

// deleteAddress removes the address with id. Deleting the default leaves no default: the user picks
// the next one.
func deleteAddress(p *Profile, id string) error {
	if p.Status == statusSuspended {
		return errSuspended
	}
	i := addressIndex(p, id)
	if i < 0 {
		return errAddressNotFound
	}
	p.Addresses = append(p.Addresses[:i], p.Addresses[i+1:]...)
	return nil
}

// addressList is the answer of GET /users/me/addresses, in the platform's list shape.
type addressList = shared.Page[Address]

// handleAddressList answers GET /users/me/addresses: every address of the caller, in the order added.
func handleAddressList(logger *slog.Logger, profiles profileStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := profiles.Get(r.Context(), caller(r).UserID)
		if err != nil && !errNoProfile(err) {
			shared.WriteError(w, r, logger, err)
			return
		}
		items := append([]Address{}, p.Addresses...)
		shared.Encode(w, http.StatusOK, addressList{Items: items, Total: len(items), Page: 1, Limit: maxAddresses})
	})
}

// handleAddressGet answers GET /users/me/addresses/{id}: one address of the caller (order uses it for
// address_id), 404 for anyone else's.
func handleAddressGet(logger *slog.Logger, profiles profileStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !validID(id) {
			shared.WriteError(w, r, logger, errAddressNotFound)
			return
		}
		p, err := profiles.Get(r.Context(), caller(r).UserID)
		if errNoProfile(err) {
			err = errAddressNotFound
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		i := addressIndex(&p, id)
		if i < 0 {
			shared.WriteError(w, r, logger, errAddressNotFound)
			return
		}
		shared.Encode(w, http.StatusOK, p.Addresses[i])
	})
}

// handleAddressCreate answers POST /users/me/addresses: 201 with the address and its Location; 409 when
// the caller already has maxAddresses.
func handleAddressCreate(logger *slog.Logger, profiles profileStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, id, ok := decodeForCaller[addressFields](w, r, logger, profiles)
		if !ok {
			return
		}
		a := Address{ID: shared.NewID(), Name: body.Name, Street: body.Street, City: body.City,
			State: body.State, ZipCode: body.ZipCode, Country: body.Country}
		def := body.IsDefault != nil && *body.IsDefault
		p, err := profiles.Update(r.Context(), id.UserID, func(p *Profile) error {
			p.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
			return addAddress(p, a, def)
		})
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		w.Header().Set("Location", "/users/me/addresses/"+a.ID)
		shared.Encode(w, http.StatusCreated, p.Addresses[addressIndex(&p, a.ID)])
	})
}

// updateAddress runs edit on the caller's address {id} and answers with the result.
func updateAddress(w http.ResponseWriter, r *http.Request, logger *slog.Logger, profiles profileStore, edit func(*Profile, string) (Address, error)) {
	id := r.PathValue("id")
	if !validID(id) {
		shared.WriteError(w, r, logger, errAddressNotFound)
		return
	}
	var out Address
	_, err := profiles.Update(r.Context(), caller(r).UserID, func(p *Profile) error {
		a, err := edit(p, id)
		out = a
		p.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
		return err
	})
	if errNoProfile(err) {
		err = errAddressNotFound
	}
	if err != nil {
		shared.WriteError(w, r, logger, err)
		return
	}
	shared.Encode(w, http.StatusOK, out)
}

// handleAddressReplace answers PUT /users/me/addresses/{id}: every field replaced; is_default changes
// the default only when present.
func handleAddressReplace(logger *slog.Logger, profiles profileStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := shared.Decode[addressFields](w, r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		updateAddress(w, r, logger, profiles, func(p *Profile, id string) (Address, error) {
			return editAddress(p, id, func(a *Address) {
				*a = Address{Name: body.Name, Street: body.Street, City: body.City, State: body.State,
					ZipCode: body.ZipCode, Country: body.Country, IsDefault: a.IsDefault}
			}, body.IsDefault)
		})
	})
}

// handleAddressPatch answers PATCH /users/me/addresses/{id}: only the fields present change.
func handleAddressPatch(logger *slog.Logger, profiles profileStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := shared.Decode[addressPatch](w, r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		updateAddress(w, r, logger, profiles, func(p *Profile, id string) (Address, error) {
			return editAddress(p, id, body.applyTo, body.IsDefault)
		})
	})
}

// handleAddressSetDefault answers PUT /users/me/addresses/{id}/default: this address becomes the only
// default shipping address, in the same atomic write that clears the previous one.
func handleAddressSetDefault(logger *slog.Logger, profiles profileStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		def := true
		updateAddress(w, r, logger, profiles, func(p *Profile, id string) (Address, error) {
			return editAddress(p, id, func(*Address) {}, &def)
		})
	})
}

// handleAddressDelete answers DELETE /users/me/addresses/{id}: 204, or 404 when there is no such
// address.
func handleAddressDelete(logger *slog.Logger, profiles profileStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !validID(id) {
			shared.WriteError(w, r, logger, errAddressNotFound)
			return
		}
		_, err := profiles.Update(r.Context(), caller(r).UserID, func(p *Profile) error {
			p.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
			return deleteAddress(p, id)
		})
		if errNoProfile(err) {
			err = errAddressNotFound
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
