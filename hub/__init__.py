"""wristgate's hub: aggregates the gates' journals into one headcount."""
