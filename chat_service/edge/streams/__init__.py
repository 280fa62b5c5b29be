"""The stream endpoints: turns as Server-Sent Events, resumed from any worker."""
