//go:build tools

// Package tools pins the modules the project builds on while their packages
// are written; it is never compiled.
package tools

import (
	_ "cloud.google.com/go/compute/metadata"
	_ "cloud.google.com/go/logging"
	_ "cloud.google.com/go/secretmanager/apiv1"
	_ "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	_ "github.com/GoogleCloudPlatform/functions-framework-go/functions"
	_ "github.com/MicahParks/keyfunc/v3"
	_ "github.com/alicebob/miniredis/v2"
	_ "github.com/getkin/kin-openapi/openapi3"
	_ "github.com/getkin/kin-openapi/openapi3filter"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/nyaruka/phonenumbers"
	_ "github.com/redis/go-redis/v9"
	_ "golang.org/x/time/rate"
	_ "google.golang.org/grpc"
	_ "google.golang.org/grpc/test/bufconn"
	_ "gopkg.in/yaml.v3"
)
