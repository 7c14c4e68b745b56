package admin

import (
	"time"

	"github.com/kdcha/kdcha/kdc/db"
)

// PrincipalInfo is what the API shows of a principal: never key material.
type PrincipalInfo struct {
	Name     string   `json:"name"`
	Aliases  []string `json:"aliases,omitempty"`
	KVNO     uint32   `json:"kvno"`
	EncTypes []string `json:"enctypes"`
	// EncTypeSet is the principal's own enctype set, by MIT name, that its
	// next password change or rekey makes keys for (empty: the realm's).
	EncTypeSet       []string      `json:"enctype_set,omitempty"`
	Attributes       db.Attributes `json:"attributes"`
	MaxLife          Duration      `json:"max_life,omitempty"`
	MaxRenewableLife Duration      `json:"max_renewable_life,omitempty"`
	Created          time.Time     `json:"created"`
	Modified         time.Time     `json:"modified"`
	Revision         uint64        `json:"revision"`
	Locked           bool          `json:"locked,omitempty"`
	Expires          time.Time     `json:"expires,omitzero"`
	PasswordExpires  time.Time     `json:"password_expires,omitzero"`
	PasswordChanged  time.Time     `json:"password_changed,omitzero"`
	// Policy is the password policy the principal names; "" means the
	// realm default (db.DefaultPolicyName).
	Policy string `json:"policy,omitempty"`
}

func infoOf(p *db.Principal) PrincipalInfo {
	info := PrincipalInfo{
		Name:             p.Name,
		Aliases:          p.Aliases,
		KVNO:             p.KVNO(),
		Attributes:       p.Attributes,
		MaxLife:          Duration(p.MaxLife),
		MaxRenewableLife: Duration(p.MaxRenewableLife),
		Created:          p.Created,
		Modified:         p.Modified,
		Revision:         p.Revision,
		Locked:           p.Locked,
		Expires:          p.Expires,
		PasswordExpires:  p.PasswordExpires,
		PasswordChanged:  p.PasswordChanged,
		Policy:           p.Policy,
	}
	if len(p.EncTypes) > 0 {
		info.EncTypeSet = db.EncTypeNames(p.EncTypes)
	}
	for _, k := range p.Keys {
		info.EncTypes = append(info.EncTypes, db.EncTypeName(k.EType))
	}
	return info
}

// AddRequest creates a principal. Exactly one of Password and RandomKey.
type AddRequest struct {
	Name             string   `json:"name"`
	Password         *string  `json:"password,omitempty"`
	RandomKey        bool     `json:"random_key,omitempty"`
	NoPreauth        bool     `json:"no_preauth,omitempty"`
	MaxLife          Duration `json:"max_life,omitempty"`
	MaxRenewableLife Duration `json:"max_renewable_life,omitempty"`
	Aliases          []string `json:"aliases,omitempty"`
	// Policy names the password policy ("": the realm default).
	Policy string `json:"policy,omitempty"`
	// EncTypes are the enctypes of the keys, now and at later password
	// changes and rekeys (MIT names or aliases; empty: the realm's).
	EncTypes []string `json:"enctypes,omitempty"`
}

// ModifyRequest changes a principal; nil fields are left alone.
type ModifyRequest struct {
	RequiresPreauth  *bool `json:"requires_preauth,omitempty"`
	Disabled         *bool `json:"disabled,omitempty"`
	AllowForwardable *bool `json:"allow_forwardable,omitempty"`
	AllowRenewable   *bool `json:"allow_renewable,omitempty"`
	AllowProxiable   *bool `json:"allow_proxiable,omitempty"`
	AllowService     *bool `json:"allow_service,omitempty"`
	// AllowSetPassword lets the principal set others' passwords with
	// kpasswd's set-password request.
	AllowSetPassword *bool     `json:"allow_set_password,omitempty"`
	MaxLife          *Duration `json:"max_life,omitempty"`
	MaxRenewableLife *Duration `json:"max_renewable_life,omitempty"`
	Aliases          *[]string `json:"aliases,omitempty"`
	Unlock           bool      `json:"unlock,omitempty"`
	// Expires and PasswordExpires set the principal's and its password's
	// expiration (the zero time: never); Policy the password policy ("":
	// the realm default).
	Expires         *time.Time `json:"expires,omitempty"`
	PasswordExpires *time.Time `json:"password_expires,omitempty"`
	Policy          *string    `json:"policy,omitempty"`
	// EncTypes replaces the enctype set used from the next password change
	// or rekey (MIT names; an empty list: the realm's).
	EncTypes *[]string `json:"enctypes,omitempty"`
}

// apply returns the attributes after the request's changes.
func (m ModifyRequest) apply(a db.Attributes) db.Attributes {
	set := func(dst *bool, v *bool, invert bool) {
		if v != nil {
			*dst = *v != invert
		}
	}
	set(&a.RequiresPreauth, m.RequiresPreauth, false)
	set(&a.Disabled, m.Disabled, false)
	set(&a.DisallowForwardable, m.AllowForwardable, true)
	set(&a.DisallowRenewable, m.AllowRenewable, true)
	set(&a.DisallowProxiable, m.AllowProxiable, true)
	set(&a.DisallowService, m.AllowService, true)
	set(&a.MaySetPasswords, m.AllowSetPassword, false)
	return a
}

// PasswordRequest sets a new password.
type PasswordRequest struct {
	Password string `json:"password"`
}

// TokenRequest asks for a cluster join token.
type TokenRequest struct {
	// TTL is how long the token stays valid; it must be positive.
	TTL Duration `json:"ttl"`
}

// TokenResponse carries a join token.
type TokenResponse struct {
	Token string `json:"token"`
}

// KeytabRequest asks for the current keys of some principals as a keytab.
type KeytabRequest struct {
	Names []string `json:"names"`
	// EncTypes keeps only keys of these enctypes (MIT names or numbers;
	// empty: all).
	EncTypes []string `json:"enctypes,omitempty"`
	// KeepOld adds the previous kvno's keys (db.KeytabOptions).
	KeepOld bool `json:"keep_old,omitempty"`
}

// errorBody is the JSON body of every failed request.
type errorBody struct {
	Error string `json:"error"`
}
