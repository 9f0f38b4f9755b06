package web

import "github.com/go-chi/chi/v5"

func (s *Server) adminRoutes(r chi.Router) {}
