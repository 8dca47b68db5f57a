//! Integration tests, built as one binary. Each module checks gridmap against something it does
//! not share code with: brute force, GDAL, a killed process, the committed sample.

mod access;
mod archive;
mod browser;
mod cli;
mod clients;
mod common;
mod coverage;
mod crash;
mod declarations;
mod declared_layers;
mod declared_writes;
mod differential;
mod event_api;
mod event_collection;
mod event_photos;
mod events;
mod gcj02;
mod gdal;
mod geocode;
mod http_api;
mod links;
mod live;
mod ogc;
mod ogc_query;
mod pg;
mod postgis;
mod replicas;
mod reproducible;
mod search;
mod stats;
mod store_contract;
mod stored_geometry;
mod tiles;
mod web;
mod writes;
