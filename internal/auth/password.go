package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLength  uint32 // bytes
	KeyLength   uint32 // bytes
}

// DefaultParams are the production cost: 64 MiB, one pass, two lanes.
//
// Why: memory is what makes argon2id expensive on GPUs, so it gets the
// largest share of the budget (the 64 MiB ceiling we allow per hash; the
// semaphore in Service bounds concurrent hashes to GOMAXPROCS, so at most
// GOMAXPROCS×64 MiB). RFC 9106's second recommended setting (t=3, 64 MiB)
// measured ~160 ms per hash on the 2-core reference machine, too slow for
// a sign-in; t=2 took ~70 ms; t=1 with p=2 (one lane per core) took
// ~30 ms, inside the 50 ms target. The parameters travel in every stored
// hash, so raising them later only needs a new value here: CheckPassword
// reports hashes made with other parameters and Login rehashes them.
var DefaultParams = Params{Memory: 64 * 1024, Iterations: 1, Parallelism: 2, SaltLength: 16, KeyLength: 32}

// TestParams are a cheap cost for tests only (a few hundred microseconds).
var TestParams = Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

var b64 = base64.RawStdEncoding

// HashPassword hashes password with p and returns the PHC string
// "$argon2id$v=19$m=65536,t=1,p=2$<salt>$<hash>" (unpadded standard
// base64, as the reference implementation writes it).
func HashPassword(password string, p Params) (string, error) {
	if p.Memory == 0 || p.Iterations == 0 || p.Parallelism == 0 || p.SaltLength < 8 || p.KeyLength < 16 {
		return "", fmt.Errorf("auth: unusable argon2id parameters %+v", p)
	}
	salt := make([]byte, p.SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrMalformedHash is returned for a stored hash that is not an argon2id
// PHC string this package can check.
var ErrMalformedHash = errors.New("auth: malformed argon2id hash")

// maxMemory refuses stored parameters that would exhaust memory (1 GiB).
const maxMemory = 1 << 20

func decodeHash(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrMalformedHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, ErrMalformedHash
	}
	var par uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Iterations, &par); err != nil || n != 3 {
		return p, nil, nil, ErrMalformedHash
	}
	if p.Memory == 0 || p.Memory > maxMemory || p.Iterations == 0 || p.Iterations > 64 || par == 0 || par > 255 {
		return p, nil, nil, ErrMalformedHash
	}
	p.Parallelism = uint8(par)
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) == 0 {
		return p, nil, nil, ErrMalformedHash
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, ErrMalformedHash
	}
	p.SaltLength, p.KeyLength = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// CheckPassword reports whether password matches encoded, comparing in
// constant time with the parameters stored in encoded, and whether the
// hash should be replaced because it was made with parameters other than
// want.
func CheckPassword(password, encoded string, want Params) (ok, rehash bool, err error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	rehash = p.Memory != want.Memory || p.Iterations != want.Iterations || p.Parallelism != want.Parallelism ||
		p.KeyLength != want.KeyLength || p.SaltLength < want.SaltLength
	return true, rehash, nil
}
