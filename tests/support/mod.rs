//! Local test servers shared by the integration tests. Each test binary includes this with
//! `mod support;` and uses what it needs.
#![allow(dead_code)]

pub mod cloudwatch;
pub mod fault_proxy;
pub mod kube_api;
pub mod langfuse_api;
pub mod live;
pub mod moto;
pub mod prometheus;
pub mod redis;
pub mod vllm_exporter;
