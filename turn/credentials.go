package turn

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Credentials are TURN credentials of the TURN REST API scheme
// (draft-uberti-behave-turn-rest, as coturn's use-auth-secret and Pion's
// LongTermTURNRESTAuthHandler take them): the username is "<expiry>:<user>", the
// expiry in Unix seconds, and the password is base64(HMAC-SHA1(secret, username)).
// Any TURN server that knows secret accepts them until expires, and no one can
// make others without it.
func Credentials(secret []byte, user string, expires time.Time) (username, password string) {
	username = strconv.FormatInt(expires.Unix(), 10) + ":" + user
	return username, restPassword(secret, username)
}

func restPassword(secret []byte, username string) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// errExpired and errBadUsername are why a username is refused.
var (
	errExpired     = errors.New("turn: credentials expired")
	errBadUsername = errors.New(`turn: username is not "<expiry>:<user>"`)
)

// checkUsername returns the user of a REST username that has not expired at now,
// and the password it must come with.
func checkUsername(secret []byte, username string, now time.Time) (user, password string, err error) {
	expiry, user, ok := strings.Cut(username, ":")
	if !ok {
		return "", "", errBadUsername
	}
	t, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil {
		return "", "", errBadUsername
	}
	if now.Unix() >= t {
		return "", "", errExpired
	}
	return user, restPassword(secret, username), nil
}
