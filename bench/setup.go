package bench

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// exchange sends one request on a fresh connection (the setup steps).
func exchange(c *Config, req []byte) ([]byte, error) {
	rt, err := dial(c.Transport, c.KDC)
	if err != nil {
		return nil, err
	}
	defer rt.close()
	reply, err := rt.roundTrip(req, time.Now().Add(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("KDC %s (%s): %w", c.KDC, c.Transport, err)
	}
	return slices.Clone(reply), nil
}

// clientKey derives the client's key from its password with the enctype
// and salt the KDC names in the PREAUTH_REQUIRED error's ETYPE-INFO2 (the
// default salt, realm then name components, when the KDC issues a ticket
// straight away).
func clientKey(c *Config) (types.EncryptionKey, error) {
	t, err := newASTemplate(c.Realm, c.Client, c.ETypes, time.Now().Add(24*time.Hour), nil)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	req, _ := t.builder().build(nonceBase|1, time.Now())
	reply, err := exchange(c, req)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	etype, salt, params := c.ETypes[0], c.Realm+strings.ReplaceAll(c.Client, "/", ""), ""
	var e messages.KRBError
	var rep messages.ASRep
	switch {
	case e.Unmarshal(reply) == nil:
		if e.ErrorCode != errorcode.KDC_ERR_PREAUTH_REQUIRED {
			return types.EncryptionKey{}, fmt.Errorf("AS-REQ for %s: KRB-ERROR %s", c.Client, errorcode.Lookup(e.ErrorCode))
		}
		var pas types.PADataSequence
		if err := pas.Unmarshal(e.EData); err != nil {
			return types.EncryptionKey{}, fmt.Errorf("PREAUTH_REQUIRED e-data: %w", err)
		}
		found := false
		for _, pa := range pas {
			if pa.PADataType != patype.PA_ETYPE_INFO2 {
				continue
			}
			info, err := pa.GetETypeInfo2()
			if err != nil || len(info) == 0 {
				return types.EncryptionKey{}, fmt.Errorf("ETYPE-INFO2: %v", err)
			}
			etype, found = info[0].EType, true
			if info[0].Salt != "" {
				salt = info[0].Salt
			}
			params = hex.EncodeToString(info[0].S2KParams)
		}
		if !found {
			return types.EncryptionKey{}, fmt.Errorf("PREAUTH_REQUIRED for %s names no ETYPE-INFO2", c.Client)
		}
	case rep.Unmarshal(reply) == nil:
		etype = rep.EncPart.EType
	default:
		return types.EncryptionKey{}, fmt.Errorf("AS-REQ for %s: %w", c.Client, errMalformed)
	}
	et, err := crypto.GetEtype(etype)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	if params == "" {
		params = et.GetDefaultStringToKeyParams()
	}
	k, err := et.StringToKey(c.Password, salt, params)
	if err != nil {
		return types.EncryptionKey{}, fmt.Errorf("string-to-key: %w", err)
	}
	return types.EncryptionKey{KeyType: etype, KeyValue: k}, nil
}

// getTGT runs one preauthenticated AS exchange and returns the TGT and its
// session key, for the TGS mode.
func getTGT(c *Config, key types.EncryptionKey) (messages.Ticket, types.EncryptionKey, error) {
	t, err := newASTemplate(c.Realm, c.Client, c.ETypes, time.Now().Add(24*time.Hour), &key)
	if err != nil {
		return messages.Ticket{}, types.EncryptionKey{}, err
	}
	req, err := t.builder().build(nonceBase|2, time.Now())
	if err != nil {
		return messages.Ticket{}, types.EncryptionKey{}, err
	}
	reply, err := exchange(c, req)
	if err != nil {
		return messages.Ticket{}, types.EncryptionKey{}, err
	}
	var rep messages.ASRep
	if err := rep.Unmarshal(reply); err != nil {
		var e messages.KRBError
		if e.Unmarshal(reply) == nil {
			return messages.Ticket{}, types.EncryptionKey{}, fmt.Errorf("TGT for %s: KRB-ERROR %s", c.Client, errorcode.Lookup(e.ErrorCode))
		}
		return messages.Ticket{}, types.EncryptionKey{}, fmt.Errorf("TGT for %s: %w", c.Client, err)
	}
	plain, err := crypto.DecryptEncPart(rep.EncPart, key, keyusage.AS_REP_ENCPART)
	if err != nil {
		return messages.Ticket{}, types.EncryptionKey{}, fmt.Errorf("TGT reply does not decrypt with the password's key: %w", err)
	}
	var part messages.EncKDCRepPart
	if err := part.Unmarshal(plain); err != nil {
		return messages.Ticket{}, types.EncryptionKey{}, err
	}
	return rep.Ticket, part.Key, nil
}
