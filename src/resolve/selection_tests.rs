//! Selection: essentials, arch filtering, order and prefer, on small releases written here.
