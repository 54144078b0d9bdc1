package zohoauth_test

import (
	"testing"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest/storetest"
)

func TestMemoryStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) zohoauth.Store { return &zohoauth.MemoryStore{} })
}
